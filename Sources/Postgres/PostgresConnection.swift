import CLibPQ
import Foundation

/// One libpq connection to PostgreSQL.
///
/// Owns a C resource, so it is a class, and it is deliberately not `Sendable`: a connection belongs to
/// the one thread that made it. Every method blocks the calling thread until the server answers;
/// never call it from a Swift concurrency task.
public final class PostgresConnection {
    private let connection: OpaquePointer
    private var prepared: Set<String> = []

    /// Where this connection points, as `host:port`, for messages.
    public let server: String

    /// Sees each round trip of ``query(_:_:)``, ``execute(_:_:)-(PreparedStatement,_)`` and
    /// ``pipeline(_:)`` with its times and answers (tracing). nil, the default, costs nothing.
    public var observer: (any RoundTripObserver)?

    /// The process id of the server backend serving this connection: the database session.
    public var backendPID: Int { Int(PQbackendPID(connection)) }

    /// Connects, failing within `connectTimeoutSeconds` when the server cannot be reached.
    ///
    /// - Parameter url: a libpq connection URI (`postgresql://user@host:port/db`) or key/value string.
    ///   A `connect_timeout` in the URL wins over `connectTimeoutSeconds`.
    ///
    /// A server that stops answering (a partition, a dead host) is noticed within about 30 s, never a
    /// hang: TCP keepalives probe an idle connection after 10 s (every 5 s, 3 times) and
    /// `tcp_user_timeout` ends one whose data goes unacknowledged for 30 s. The URL may override them.
    /// - Throws: `PostgresError` of kind `.invalidURL` or `.connect`, with a one-line message naming the server.
    public init(url: String, connectTimeoutSeconds: Int = 5, applicationName: String = "racelab") throws {
        let options = try PostgresConnection.parse(url)
        self.server = options.server
        let keywords = [
            "connect_timeout", "application_name", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
            "tcp_user_timeout", "dbname",
        ]
        let values = [String(connectTimeoutSeconds), applicationName, "1", "10", "5", "3", "30000", url]
        let conn: OpaquePointer? = withCStringArray(keywords) { keys in
            withCStringArray(values) { vals in PQconnectdbParams(keys, vals, 1) }
        }
        guard let conn else {
            throw PostgresError(kind: .connect, message: "cannot reach PostgreSQL at \(options.server): out of memory")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let reason = PostgresConnection.connectFailureReason(String(cString: PQerrorMessage(conn)))
            PQfinish(conn)
            // The server answered and refused: say so, rather than that it cannot be reached.
            if reason.hasPrefix("database \""), reason.hasSuffix("does not exist") {
                throw PostgresError(
                    kind: .connect,
                    message: "reached PostgreSQL at \(options.server), but the \(reason) (create it, or name another in the URL)"
                )
            }
            if reason.contains("password authentication failed") || reason.contains("no password supplied") || reason.contains("pg_hba.conf") {
                throw PostgresError(kind: .connect, message: "PostgreSQL at \(options.server) refused the login: \(reason)")
            }
            throw PostgresError(kind: .connect, message: "cannot reach PostgreSQL at \(options.server): \(reason)")
        }
        // NOTICEs ("relation already exists, skipping") would otherwise go straight to stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        self.connection = conn
    }

    deinit {
        PQfinish(connection)
    }

    /// The server's version as an integer, e.g. `150018` for 15.18.
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// Whether the connection is still usable (false after the server went away).
    public var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Runs one or more statements with no parameters (simple query protocol); returns the last result.
    @discardableResult
    public func execute(_ sql: String) throws -> PostgresResult {
        try consume(PQexec(connection, sql), context: sql)
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …) without preparing it.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> PostgresResult {
        let sentAt = observer == nil ? 0 : RoundTrip.now()
        let result = withParameterArray(parameters) { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try observing(nil, sql, parameters, sentAt: sentAt) { try consume(result, context: sql) }
    }

    /// Runs a prepared statement, preparing it on this connection the first time its name is seen.
    @discardableResult
    public func execute(_ statement: PreparedStatement, _ parameters: [String?] = []) throws -> PostgresResult {
        try prepare(statement)
        let sentAt = observer == nil ? 0 : RoundTrip.now()
        let result = withParameterArray(parameters) { values in
            PQexecPrepared(connection, statement.name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try observing(statement.name, statement.sql, parameters, sentAt: sentAt) { try consume(result, context: statement.sql) }
    }

    /// `answer()`, told to the observer (if any) as a round trip of one statement sent at `sentAt`.
    private func observing(
        _ name: String?,
        _ sql: String,
        _ parameters: [String?],
        sentAt: UInt64,
        _ answer: () throws -> PostgresResult
    ) throws -> PostgresResult {
        guard let observer else { return try answer() }
        do {
            let result = try answer()
            observer.observe(
                RoundTrip(
                    sentAt: sentAt,
                    statements: [.init(name: name, sql: sql, parameters: parameters, result: result, sqlState: nil, answeredAt: RoundTrip.now())]
                )
            )
            return result
        } catch let error as PostgresError {
            observer.observe(
                RoundTrip(
                    sentAt: sentAt,
                    statements: [
                        .init(name: name, sql: sql, parameters: parameters, result: nil, sqlState: error.sqlState, answeredAt: RoundTrip.now())
                    ]
                )
            )
            throw error
        }
    }

    /// Runs `body` between `BEGIN` and `COMMIT`; rolls back and rethrows when `body` throws.
    ///
    /// `body` may also end the transaction itself by returning after calling `rollback()`.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute(Self.begin)
        return try rollingBackOnError {
            let value = try body()
            try execute(Self.commit)
            return value
        }
    }

    /// Runs `body`; when it throws, rolls back the open transaction (if the connection is still up) and rethrows.
    private func rollingBackOnError<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            if isHealthy { _ = try? execute(Self.rollback) }
            throw error
        }
    }

    static let begin = PreparedStatement(name: "racelab_begin", sql: "BEGIN")
    static let commit = PreparedStatement(name: "racelab_commit", sql: "COMMIT")
    static let rollback = PreparedStatement(name: "racelab_rollback", sql: "ROLLBACK")

    /// Prepares `statement` on this connection unless it already is (one round trip, the first time only).
    func prepare(_ statement: PreparedStatement) throws {
        guard !prepared.contains(statement.name) else { return }
        _ = try consume(PQprepare(connection, statement.name, statement.sql, 0, nil), context: statement.sql)
        prepared.insert(statement.name)
    }

    /// Runs prepared statements in one round trip (libpq pipeline mode) and returns each one's result.
    ///
    /// The statements are sent back to back, then one sync; the server runs them in order. When one
    /// fails, the server skips the rest (up to the sync) and this throws that first error. Without a
    /// `BEGIN` among them, the statements up to the sync form one implicit transaction: all commit or
    /// none. After a failure inside an explicit transaction block the block is aborted and must be
    /// rolled back (``transaction(opening:_:)`` does that).
    public func pipeline(_ steps: [Step]) throws -> [PostgresResult] {
        for step in steps { try prepare(step.statement) }
        guard PQenterPipelineMode(connection) == 1 else {
            throw PostgresError(kind: .connectionLost, message: "PostgreSQL at \(server): cannot enter pipeline mode: \(lastError)")
        }
        defer { PQexitPipelineMode(connection) }
        let sentAt = observer == nil ? 0 : RoundTrip.now()
        var seen: [RoundTrip.Statement] = []
        for step in steps {
            let sent = withParameterArray(step.parameters) { values in
                PQsendQueryPrepared(connection, step.statement.name, Int32(step.parameters.count), values, nil, nil, 0)
            }
            guard sent == 1 else { throw PostgresError(kind: .connectionLost, message: "PostgreSQL at \(server): \(lastError)") }
        }
        guard PQpipelineSync(connection) == 1 else {
            throw PostgresError(kind: .connectionLost, message: "PostgreSQL at \(server): \(lastError)")
        }
        var results: [PostgresResult] = []
        results.reserveCapacity(steps.count)
        var firstError: PostgresError?
        for step in steps {
            // Each statement's result, then a NULL that ends it. A statement skipped after an earlier
            // failure answers PGRES_PIPELINE_ABORTED.
            guard let result = PQgetResult(connection) else {
                throw PostgresError(kind: .connectionLost, message: "lost the connection to PostgreSQL at \(server): \(lastError)")
            }
            var answer: (result: PostgresResult?, sqlState: String?) = (nil, nil)
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                results.append(PostgresResult(columns: [], rows: [], affectedRows: 0))
            } else {
                do {
                    let read = try consume(result, context: step.statement.sql)
                    results.append(read)
                    answer.result = read
                } catch let error as PostgresError {
                    if error.kind == .connectionLost { throw error }
                    firstError = firstError ?? error
                    answer.sqlState = error.sqlState
                    results.append(PostgresResult(columns: [], rows: [], affectedRows: 0))
                }
            }
            if observer != nil {
                seen.append(
                    .init(
                        name: step.statement.name,
                        sql: step.statement.sql,
                        parameters: step.parameters,
                        result: answer.result,
                        sqlState: answer.sqlState,
                        answeredAt: RoundTrip.now()
                    )
                )
            }
            while let extra = PQgetResult(connection) { PQclear(extra) }
        }
        // The sync's own result closes the pipeline.
        guard let sync = PQgetResult(connection) else {
            throw PostgresError(kind: .connectionLost, message: "lost the connection to PostgreSQL at \(server): \(lastError)")
        }
        PQclear(sync)
        observer?.observe(RoundTrip(sentAt: sentAt, statements: seen))
        if let firstError { throw firstError }
        return results
    }

    /// A transaction in as few round trips as a read-decide-write allows: `BEGIN` and the `opening`
    /// statements in one, then `body` decides from their results, then its writes and `COMMIT` in one
    /// more (or a `ROLLBACK`). Rolls back and rethrows when anything fails.
    ///
    /// - Parameter isolation: the level the transaction runs at (`BEGIN ISOLATION LEVEL …`).
    public func transaction<T>(
        isolation: IsolationLevel = .readCommitted,
        opening: [Step],
        _ body: ([PostgresResult]) throws -> TransactionEnd<T>
    ) throws -> T {
        try rollingBackOnError {
            let opened = try pipeline([Step(isolation.begin)] + opening)
            switch try body(Array(opened.dropFirst())) {
            case .commit(let value, let writes):
                _ = try pipeline(writes + [Step(Self.commit)])
                return value
            case .commitChecking(let writes, let value):
                return value(Array(try pipeline(writes + [Step(Self.commit)]).dropLast()))
            case .rollback(let value):
                try execute(Self.rollback)
                return value
            }
        }
    }

    /// `writes` as one transaction in one round trip, for a transaction that needs no answer before it
    /// commits: the pipeline's implicit transaction, so a failing write undoes the others and leaves
    /// nothing to roll back.
    public func transaction(committing writes: [Step]) throws {
        _ = try pipeline(writes)
    }

    /// `writes` as one transaction at `isolation`, in one round trip, returning each write's result.
    ///
    /// At read committed (the server's default) this is the pipeline's implicit transaction; at a
    /// stricter level the pipeline is wrapped in `BEGIN ISOLATION LEVEL …` and `COMMIT`, and rolled back
    /// when a write fails.
    public func transaction(isolation: IsolationLevel, committing writes: [Step]) throws -> [PostgresResult] {
        guard isolation != .readCommitted else { return try pipeline(writes) }
        return try rollingBackOnError {
            Array(try pipeline([Step(isolation.begin)] + writes + [Step(Self.commit)]).dropFirst().dropLast())
        }
    }

    /// What the server knows of a statement before it runs: how many parameters it takes and the
    /// names of the columns it returns. Prepares `statement` on this connection if it is not yet.
    ///
    /// - Throws: `PostgresError` when the server refuses to prepare it (a syntax error, an unknown
    ///   column, a parameter whose type it cannot determine), with the server's message and SQLSTATE.
    public func describe(_ statement: PreparedStatement) throws -> (parameters: Int, columns: [String]) {
        try prepare(statement)
        guard let result = PQdescribePrepared(connection, statement.name) else {
            throw PostgresError(kind: .connectionLost, message: "PostgreSQL at \(server): \(lastError)")
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw PostgresError(kind: .server, message: "PostgreSQL at \(server): cannot describe statement \(statement.name)")
        }
        let columns = (0..<Int(PQnfields(result))).map { String(cString: PQfname(result, Int32($0))) }
        return (Int(PQnparams(result)), columns)
    }

    /// Forgets a statement prepared on this connection (`DEALLOCATE`), so its name can be reused.
    public func deallocate(_ statement: PreparedStatement) throws {
        guard prepared.contains(statement.name) else { return }
        try execute("DEALLOCATE \"\(statement.name.replacingOccurrences(of: "\"", with: "\"\""))\"")
        prepared.remove(statement.name)
    }

    /// A PostgreSQL array literal, `{a,b,c}`, of values that need no quoting (UUIDs, integers).
    public static func arrayLiteral(_ values: [String]) -> String {
        "{" + values.joined(separator: ",") + "}"
    }

    private var lastError: String { oneLine(String(cString: PQerrorMessage(connection))) }

    /// Turns a libpq result into `PostgresResult` or `PostgresError`, freeing it either way.
    private func consume(_ result: OpaquePointer?, context: String) throws -> PostgresResult {
        guard let result else {
            throw PostgresError(kind: .connectionLost, message: "PostgreSQL at \(server): \(oneLine(String(cString: PQerrorMessage(connection))))")
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.read(result)
        default:
            let sqlState = PQresultErrorField(result, racelab_pg_diag_sqlstate).map { String(cString: $0) }
            let primary = PQresultErrorField(result, racelab_pg_diag_message_primary).map { String(cString: $0) }
            let message = primary ?? oneLine(String(cString: PQresultErrorMessage(result)))
            let lost = PQstatus(connection) != CONNECTION_OK
            if lost {
                throw PostgresError(
                    kind: .connectionLost,
                    sqlState: sqlState,
                    message: "lost the connection to PostgreSQL at \(server): \(message.isEmpty ? "server closed the connection" : message)"
                )
            }
            throw PostgresError(
                kind: .server,
                sqlState: sqlState,
                message: "PostgreSQL at \(server): \(message)\(sqlState.map { " (SQLSTATE \($0))" } ?? "")"
            )
        }
    }

    private static func read(_ result: OpaquePointer) -> PostgresResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(values)
        }
        let tuples = String(cString: PQcmdTuples(result))
        return PostgresResult(columns: columns, rows: rows, affectedRows: Int(tuples) ?? rowCount)
    }

    /// `url` with the password of its `user:password@` part (if any) shown as `***`, for messages.
    static func redactingPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].lastIndex(of: "@"),
            let colon = url[scheme.upperBound..<at].firstIndex(of: ":")
        else { return url }
        return url.replacingCharacters(in: url.index(after: colon)..<at, with: "***")
    }

    /// Validates a URL with libpq's own parser and finds the `host:port` it names.
    static func parse(_ url: String) throws -> (server: String, options: [String: String]) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(url, &errorMessage) else {
            let reason = errorMessage.map { oneLine(String(cString: $0)) } ?? "cannot parse it"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(kind: .invalidURL, message: "invalid PostgreSQL URL '\(redactingPassword(url))': \(reason)")
        }
        defer { PQconninfoFree(parsed) }
        var options: [String: String] = [:]
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { options[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        let host = options["host"] ?? options["hostaddr"] ?? "localhost"
        let port = options["port"] ?? "5432"
        return (host.hasPrefix("/") ? "\(host) port \(port)" : "\(host):\(port)", options)
    }

    /// Pulls the reason out of libpq's connection failure text: `… failed: Connection refused` → `connection refused`.
    static func connectFailureReason(_ text: String) -> String {
        let line = oneLine(text)
        var reason = line
        if let range = line.range(of: "failed: ", options: .backwards) {
            reason = String(line[range.upperBound...])
        }
        if let hint = reason.range(of: "; Is the server running") {
            reason = String(reason[..<hint.lowerBound])
        }
        for prefix in ["FATAL:", "ERROR:"] where reason.hasPrefix(prefix) {
            reason = reason.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
        }
        guard let first = reason.first else { return "unknown error" }
        // "Connection refused" reads as part of our sentence; an all-capitals word stays as it is.
        let word = reason.prefix { $0.isLetter }
        return word.count > 1 && word == word.uppercased() ? reason : first.lowercased() + reason.dropFirst()
    }
}

@available(*, unavailable, message: "a PostgresConnection belongs to the thread that opened it")
extension PostgresConnection: Sendable {}

/// Calls `body` with a C array of C strings that stays valid for the duration of the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicated = strings.map { strdup($0) }
    defer { for pointer in duplicated { free(pointer) } }
    var pointers: [UnsafePointer<CChar>?] = duplicated.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { buffer in
        // The buffer is non-empty (it holds at least the terminating nil), so baseAddress exists.
        body(buffer.baseAddress!)
    }
}

/// Like `withCStringArray`, for parameters that may be NULL, without a terminator.
private func withParameterArray<R>(_ values: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if values.isEmpty { return body(nil) }
    let duplicated = values.map { $0.map { strdup($0) } ?? nil }
    defer { for pointer in duplicated { free(pointer) } }
    let pointers: [UnsafePointer<CChar>?] = duplicated.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
