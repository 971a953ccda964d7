import Foundation
import LabTestSupport
import Postgres
import Testing

@Suite(.enabled(if: LabEnvironment.available, LabEnvironment.skipNotice), .isolated(LabEnvironment.lab), .timeLimit(.minutes(2)))
struct PostgresWrapperTests {
    /// The sandbox's server (a URL with a password) lets no one in without it.
    @Test(.enabled(if: LabEnvironment.postgresURL.flatMap(URLComponents.init(string:))?.password != nil))
    func withoutThePasswordTheServerRefusesTheConnection() async throws {
        var components = try #require(URLComponents(string: LabEnvironment.postgresURL ?? ""))
        components.password = nil
        let url = try #require(components.string)
        await #expect(throws: PostgresError.self) {
            _ = try await onThread { _ = try PostgresConnection(url: url + "?connect_timeout=5") }
        }
    }

    @Test func aUniqueViolationCarriesItsSQLState() async throws {
        try await onThread {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            try db.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
            try db.query("INSERT INTO t VALUES ($1)", ["1"])
            #expect {
                try db.query("INSERT INTO t VALUES ($1)", ["1"])
            } throws: { error in
                (error as? PostgresError)?.sqlState == "23505" && (error as? PostgresError)?.isUniqueViolation == true
            }
            // The connection stays usable after a failed statement.
            #expect(try db.query("SELECT count(*) FROM t").int(0, 0) == 1)
        }
    }

    @Test func preparedStatementsAreReusedAcrossCalls() async throws {
        try await onThread {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            let add = PreparedStatement(name: "add", sql: "SELECT $1::int + $2::int")
            #expect(try db.execute(add, ["2", "3"]).int(0, 0) == 5)
            #expect(try db.execute(add, ["40", "2"]).int(0, 0) == 42)
        }
    }

    @Test func aTransactionRollsBackWhenItsBodyThrows() async throws {
        struct Abort: Error {}
        try await onThread {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            try db.execute("CREATE TEMP TABLE r (id int)")
            #expect(throws: Abort.self) {
                try db.transaction {
                    try db.execute("INSERT INTO r VALUES (1)")
                    throw Abort()
                }
            }
            #expect(try db.query("SELECT count(*) FROM r").int(0, 0) == 0)
        }
    }

    @Test func anUnreachableServerFailsFastInOneLineNamingIt() async throws {
        try await onThread {
            let start = Date()
            #expect {
                _ = try PostgresConnection(url: "postgresql://nobody@127.0.0.1:1/none")
            } throws: { error in
                let message = String(describing: error)
                return message.hasPrefix("cannot reach PostgreSQL at 127.0.0.1:1") && !message.contains("\n")
            }
            #expect(Date().timeIntervalSince(start) < 10)
        }
    }
}

@Suite struct PostgresURLTests {
    @Test func aMalformedURLIsRejectedBeforeConnecting() {
        #expect {
            _ = try PostgresConnection(url: "postgresql://host:notaport/db")
        } throws: { error in
            (error as? PostgresError)?.kind == .invalidURL || (error as? PostgresError)?.kind == .connect
        }
    }
}

/// libpq pipeline mode: several statements, one round trip, and a connection that stays usable.
@Suite(.enabled(if: LabEnvironment.available, LabEnvironment.skipNotice), .isolated(LabEnvironment.lab), .timeLimit(.minutes(2)))
struct PostgresPipelineTests {
    static let insert = PreparedStatement(name: "pipe_insert", sql: "INSERT INTO p VALUES ($1::int)")
    static let count = PreparedStatement(name: "pipe_count", sql: "SELECT count(*) FROM p")

    static func connection() throws -> PostgresConnection {
        let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
        try db.execute("CREATE TEMP TABLE p (id int PRIMARY KEY)")
        return db
    }

    @Test func statementsRunInOrderAndEachAnswers() async throws {
        try await onThread {
            let db = try Self.connection()
            let results = try db.pipeline([.init(Self.insert, ["1"]), .init(Self.insert, ["2"]), .init(Self.count)])
            #expect(results.count == 3)
            #expect(results[0].affectedRows == 1)
            #expect(results[2].int(0, 0) == 2)
        }
    }

    @Test func aFailureUndoesThePipelineThrowsTheFirstErrorAndLeavesTheConnectionUsable() async throws {
        try await onThread {
            let db = try Self.connection()
            #expect {
                try db.pipeline([.init(Self.insert, ["1"]), .init(Self.insert, ["1"]), .init(Self.insert, ["3"])])
            } throws: { error in
                (error as? PostgresError)?.sqlState == "23505"
            }
            // Up to the sync the statements are one implicit transaction: the duplicate undid the first
            // insert, and the third never ran.
            #expect(try db.execute(Self.count).int(0, 0) == 0)
            #expect(try db.query("SELECT 41 + 1").int(0, 0) == 42)  // out of pipeline mode again
        }
    }

    @Test func aTransactionCommitsItsWritesOrRollsBackAsTheBodyDecides() async throws {
        try await onThread {
            let db = try Self.connection()
            let kept: Int = try db.transaction(opening: [.init(Self.count)]) { opened in
                .commit(opened[0].int(0, 0) ?? -1, writes: [.init(Self.insert, ["10"]), .init(Self.insert, ["11"])])
            }
            #expect(kept == 0)
            let dropped: String = try db.transaction(opening: [.init(Self.insert, ["12"])]) { _ in .rollback("no") }
            #expect(dropped == "no")
            #expect(try db.execute(Self.count).int(0, 0) == 2)
        }
    }

    @Test func aFailedWriteRollsTheWholeTransactionBack() async throws {
        try await onThread {
            let db = try Self.connection()
            try db.transaction(committing: [.init(Self.insert, ["1"])])
            #expect {
                try db.transaction(opening: [.init(Self.insert, ["2"])]) { _ in
                    .commit((), writes: [.init(Self.insert, ["3"]), .init(Self.insert, ["1"])])
                }
            } throws: { error in
                (error as? PostgresError)?.sqlState == "23505"
            }
            #expect {
                try db.transaction(committing: [.init(Self.insert, ["4"]), .init(Self.insert, ["1"])])
            } throws: { error in
                (error as? PostgresError)?.sqlState == "23505"
            }
            #expect(try db.query("SELECT array_agg(id ORDER BY id)::text FROM p").rows.first?.first == "{1}")
        }
    }
}
