/// A transaction isolation level, by the names RaceLab's options and messages use.
///
/// PostgreSQL has three distinct levels (`READ UNCOMMITTED` behaves as `READ COMMITTED`). Under
/// `repeatableRead` and `serializable` the server aborts a transaction that would otherwise see or
/// cause an anomaly with SQLSTATE 40001; the caller is expected to retry it.
public enum IsolationLevel: String, Sendable, CaseIterable, Codable, Comparable {
    case readCommitted = "read-committed"
    case repeatableRead = "repeatable-read"
    case serializable

    /// The statement that opens a transaction at this level.
    public var begin: PreparedStatement {
        switch self {
        case .readCommitted: PreparedStatement(name: "racelab_begin_rc", sql: "BEGIN ISOLATION LEVEL READ COMMITTED")
        case .repeatableRead: PreparedStatement(name: "racelab_begin_rr", sql: "BEGIN ISOLATION LEVEL REPEATABLE READ")
        case .serializable: PreparedStatement(name: "racelab_begin_ser", sql: "BEGIN ISOLATION LEVEL SERIALIZABLE")
        }
    }

    /// The level as SQL writes it: `READ COMMITTED`.
    public var sql: String {
        switch self {
        case .readCommitted: "READ COMMITTED"
        case .repeatableRead: "REPEATABLE READ"
        case .serializable: "SERIALIZABLE"
        }
    }

    /// A short form for narrow table columns: `rc`, `rr`, `ser`.
    public var abbreviation: String {
        switch self {
        case .readCommitted: "rc"
        case .repeatableRead: "rr"
        case .serializable: "ser"
        }
    }

    public static func < (a: IsolationLevel, b: IsolationLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!  // every case is in allCases
    }
}
