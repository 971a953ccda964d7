/// A named SQL statement with `$1, $2, …` parameters, prepared lazily on each connection that runs it.
///
/// Declare statements as constants next to the code that uses them; `PostgresConnection.execute(_:_:)`
/// prepares a statement the first time a connection sees its name, then reuses the server-side plan.
public struct PreparedStatement: Sendable, Hashable {
    /// The server-side name; must be unique among the statements a connection runs.
    public let name: String
    /// The SQL text, with `$n` placeholders.
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}

extension PostgresConnection {
    /// A prepared statement with its parameters: one element of a ``pipeline(_:)``.
    public struct Step: Sendable {
        public var statement: PreparedStatement
        public var parameters: [String?]

        public init(_ statement: PreparedStatement, _ parameters: [String?] = []) {
            self.statement = statement
            self.parameters = parameters
        }
    }

    /// How the body of ``transaction(opening:_:)`` ends its transaction.
    public enum TransactionEnd<Value> {
        /// Run `writes` and `COMMIT`, in one round trip, then return `value`.
        case commit(Value, writes: [Step])
        /// Run `writes` and `COMMIT`, in one round trip, then return what `value` makes of the writes'
        /// results (say, whether a guarded `UPDATE` touched a row).
        case commitChecking(writes: [Step], value: ([PostgresResult]) -> Value)
        /// `ROLLBACK`, then return `value`.
        case rollback(Value)
    }
}
