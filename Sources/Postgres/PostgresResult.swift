/// The rows a statement returned, in PostgreSQL's text format, and how many rows it touched.
public struct PostgresResult: Sendable {
    /// Column names, in order.
    public let columns: [String]
    /// Each row's values as text; `nil` is SQL NULL.
    public let rows: [[String?]]
    /// The row count of an `INSERT`/`UPDATE`/`DELETE` (`PQcmdTuples`), or the number of rows returned.
    public let affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    /// The first row's first value, for single-value queries.
    public var scalar: String? { rows.first?.first ?? nil }

    /// The value at `row`, `column` parsed as an integer, or `nil` when absent, NULL or not a number.
    public func int(_ row: Int, _ column: Int) -> Int? {
        guard row < rows.count, column < rows[row].count, let text = rows[row][column] else { return nil }
        return Int(text)
    }
}
