import Foundation
import Postgres
import RaceLabCore

/// Where strategies written as files live for the workers: the `strategy_definitions` table, one row
/// per version of a definition. The harness checks a file against the server and registers it
/// before a run; a worker loads a version the first time a request names it and keeps it.
///
/// ```sql
/// CREATE TABLE strategy_definitions (
///     version text PRIMARY KEY, name text NOT NULL, source text NOT NULL,
///     registered_at timestamptz NOT NULL DEFAULT clock_timestamp());
/// ```
public enum StrategyRegistry {
    static let insert = PreparedStatement(
        name: "registry_insert",
        sql: """
            INSERT INTO strategy_definitions (version, name, source) VALUES ($1, $2, $3)
            ON CONFLICT (version) DO UPDATE SET registered_at = clock_timestamp() WHERE strategy_definitions.source = EXCLUDED.source
            RETURNING version
            """
    )
    static let byVersion = PreparedStatement(name: "registry_by_version", sql: "SELECT name, source FROM strategy_definitions WHERE version = $1")
    static let latest = PreparedStatement(
        name: "registry_latest",
        sql: "SELECT version, source FROM strategy_definitions WHERE name = $1 ORDER BY registered_at DESC, version LIMIT 1"
    )

    /// Checks `strategy` against the server: every statement prepares, and every parameter it uses is
    /// a built-in one or a column an earlier step returns. Runs nothing. Blocks.
    ///
    /// - Parameter file: names the strategy in errors.
    /// - Throws: ``SpecError`` naming the file and the step; `PostgresError` when the server is gone.
    public static func validate(_ strategy: UserStrategy, file: String, on db: PostgresConnection) throws {
        var known = Set(UserStrategy.builtInParameters.map(\.name))
        var returnedBy: [String: Int] = [:]
        for step in strategy.sqlSteps {
            let number = strategy.stepNumber(of: step.statement)
            func fail(_ problem: String) -> SpecError { SpecError(file: file, field: nil, problem: "step \(number): \(problem)") }
            for parameter in step.compiled.parameters where !known.contains(parameter) {
                let earlier = returnedBy.sorted { $0.value < $1.value }.map { ":\($0.key) (step \($0.value))" }
                let builtIns = UserStrategy.builtInParameters.map { ":\($0.name)" }.joined(separator: " ")
                throw fail(
                    "unknown parameter :\(parameter) (known: \(builtIns)\(earlier.isEmpty ? "" : ", and " + earlier.joined(separator: ", ")))"
                )
            }
            let columns: [String]
            do {
                try? db.deallocate(step.statement)
                columns = try db.describe(step.statement).columns
            } catch let error as PostgresError where error.kind == .server {
                // Parameters arrive untyped: where the server cannot infer a type, a cast settles it.
                let hint =
                    ["42725", "42P18", "42883"].contains(error.sqlState ?? "")
                    ? "; parameters are untyped, so cast them where PostgreSQL cannot tell (:stock::integer)" : ""
                throw fail("PostgreSQL refuses it: \(step.compiled.naming(serverMessage(error)))\(hint)")
            }
            for column in columns {
                if UserStrategy.builtInParameters.contains(where: { $0.name == column }) {
                    throw fail("returns a column named '\(column)', which would hide the parameter :\(column); rename it (… AS \(column)_value)")
                }
                known.insert(column)
                if returnedBy[column] == nil { returnedBy[column] = number }
            }
        }
    }

    /// Validates and registers `strategy`, so workers anywhere can load it by its version. Blocks.
    ///
    /// - Throws: ``SpecError`` for a file the server refuses; `PostgresError` when the server is gone.
    public static func register(_ strategy: UserStrategy, file: String, on db: PostgresConnection) throws {
        try validate(strategy, file: file, on: db)
        let stored = try db.execute(insert, [strategy.version, strategy.name.rawValue, strategy.source])
        guard !stored.rows.isEmpty else {
            throw SpecError(
                file: file,
                field: nil,
                problem: "another definition is registered under version \(strategy.version); change the file slightly"
            )
        }
    }

    /// The definition registered under `version`, or nil. Blocks.
    public static func load(version: String, on db: PostgresConnection) throws -> UserStrategy? {
        let row = try db.execute(byVersion, [version])
        guard let name = row.rows.first?[0], let source = row.rows.first?[1] else { return nil }
        return try? UserStrategy.parse(source, file: "registered strategy \(name)")
    }

    /// The latest definition registered under `name`, or nil. Blocks.
    public static func latest(named name: StrategyName, on db: PostgresConnection) throws -> UserStrategy? {
        let row = try db.execute(latest, [name.rawValue])
        guard let source = row.rows.first?[1] else { return nil }
        return try? UserStrategy.parse(source, file: "registered strategy \(name)")
    }

    /// The latest definition of every registered name, by name. Blocks.
    public static func all(on db: PostgresConnection) throws -> [UserStrategy] {
        let rows = try db.query(
            "SELECT DISTINCT ON (name) name, source FROM strategy_definitions ORDER BY name, registered_at DESC, version"
        )
        return rows.rows.compactMap { row in row[1].flatMap { try? UserStrategy.parse($0, file: "registered strategy \(row[0] ?? "")") } }
    }

    /// The server's own words, without the wrapper's "PostgreSQL at host:port: " prefix.
    private static func serverMessage(_ error: PostgresError) -> String {
        guard let range = error.message.range(of: ": ") else { return error.message }
        return String(error.message[range.upperBound...])
    }
}
