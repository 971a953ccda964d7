import Foundation
import Postgres

/// One attempt of a strategy at one request, step by step, as the worker that ran it saw it
/// (`racelab run --trace`).
///
/// Times are microseconds since the Unix epoch on the worker host's wall clock (`CLOCK_REALTIME`):
/// every process of one host reads the same clock, so attempts of different workers on one host order
/// correctly against each other; across hosts they are only as close as the hosts' clocks.
public struct AttemptTrace: Codable, Sendable, Equatable {
    /// How the attempt ended.
    public enum Ending: String, Codable, Sendable, CaseIterable {
        /// Committed: the request bought.
        case purchased
        /// Too little stock; nothing bought.
        case soldOut
        case noSuchItem
        /// A concurrent buyer won (a version that moved, a unit claimed): tried again.
        case conflict
        /// The server aborted the transaction (40001 serialization failure, 40P01 deadlock): tried again.
        case aborted
        /// A lock that was not free at once (`NOWAIT`, 55P03): tried again.
        case lockNotAvailable
        /// The order existed already: an earlier copy of the request bought.
        case alreadyPurchased
        /// Any other error: nothing bought.
        case failed
        /// The connection broke: a fresh connection decides the request.
        case connectionLost
    }

    /// 1 for the first attempt at the request, 2 for its first retry, …
    public var attempt: Int
    /// The database session it ran on: the server backend's process id.
    public var session: Int
    public var startedAt: UInt64
    public var endedAt: UInt64
    public var ending: Ending
    /// The SQLSTATE that ended it, if an error did.
    public var sqlState: String?
    /// Requests settled together in this transaction (batching strategies); nil: one.
    public var batch: Int?
    public var steps: [TraceStep]

    public init(
        attempt: Int,
        session: Int,
        startedAt: UInt64,
        endedAt: UInt64,
        ending: Ending,
        sqlState: String? = nil,
        batch: Int? = nil,
        steps: [TraceStep]
    ) {
        self.attempt = attempt
        self.session = session
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.ending = ending
        self.sqlState = sqlState
        self.batch = batch
        self.steps = steps
    }
}

/// One step of an attempt: a statement (with what it read or wrote) or the think pause.
public struct TraceStep: Codable, Sendable, Equatable {
    /// What the step did, told from its SQL (``Kind/of(sql:)``).
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case begin
        /// A `SELECT` without a lock: `value` is what it read.
        case read
        /// A `SELECT … FOR UPDATE/SHARE` or an advisory lock: from `at` (requested) to `end` (granted).
        /// With `NOWAIT` or `SKIP LOCKED` it never waits (``TraceStep/waits``).
        case lock
        /// An `UPDATE`, `DELETE` or `INSERT` other than the order: `value` is what it wrote, when the
        /// statement returned it or set a column from a parameter.
        case write
        /// The order row.
        case order
        /// The request's think time, between round trips.
        case think
        case commit
        case rollback
        case statement
    }

    public var kind: Kind
    /// The prepared statement's name (the trace file's run line maps names to their SQL).
    public var statement: String?
    /// A lock taken with `NOWAIT` or `SKIP LOCKED`: it never waits for another transaction's lock; it
    /// fails at once, or passes over rows another transaction holds.
    public var neverWaits: Bool?
    /// When it was sent. Statements pipelined in one round trip share it: the server answers them
    /// together, so each is only known to have run between `at` and `end`.
    public var at: UInt64
    /// When its answer arrived.
    public var end: UInt64
    /// The statement's SQL (in a trace file; on the wire, only the first time a worker sends it in a run).
    public var sql: String?
    /// The column `value` came from.
    public var column: String?
    /// The first column of the first row it returned; for a write without `RETURNING`, the parameter
    /// it set the column `column` to.
    public var value: String?
    /// Rows returned (or, without any, affected).
    public var rows: Int?
    public var sqlState: String?

    public init(
        kind: Kind,
        at: UInt64,
        end: UInt64,
        statement: String? = nil,
        neverWaits: Bool? = nil,
        sql: String? = nil,
        column: String? = nil,
        value: String? = nil,
        rows: Int? = nil,
        sqlState: String? = nil
    ) {
        self.kind = kind
        self.statement = statement
        self.neverWaits = neverWaits
        self.at = at
        self.end = end
        self.sql = sql
        self.column = column
        self.value = value
        self.rows = rows
        self.sqlState = sqlState
    }
}

extension TraceStep {
    /// Whether this step could wait for another transaction's lock: a lock without `NOWAIT` or
    /// `SKIP LOCKED` (those fail, or pass over locked rows, instead).
    public var waits: Bool { kind == .lock && neverWaits != true }
}

extension TraceStep.Kind {
    /// Whether a lock statement never waits (`NOWAIT`, `SKIP LOCKED`).
    public static func neverWaits(sql: String) -> Bool {
        let text = sql.uppercased()
        return text.contains("NOWAIT") || text.contains("SKIP LOCKED")
    }

    /// What a statement does, from its text: the first keyword, and for a `SELECT` whether it locks.
    public static func of(sql: String) -> TraceStep.Kind {
        let text = sql.uppercased()
        let words = text.split(whereSeparator: { $0.isWhitespace || $0 == "(" || $0 == ";" })
        guard let first = words.first else { return .statement }
        switch first {
        case "BEGIN", "START": return .begin
        case "COMMIT", "END": return .commit
        case "ROLLBACK", "ABORT": return .rollback
        case "SELECT", "WITH", "UPDATE", "DELETE", "INSERT":
            if text.contains(" FOR UPDATE") || text.contains(" FOR SHARE") || text.contains(" FOR NO KEY UPDATE")
                || text.contains(" FOR KEY SHARE") || text.contains("PG_ADVISORY_XACT_LOCK(") || text.contains("PG_ADVISORY_LOCK(")
            {
                return .lock
            }
            let writes = words.contains("UPDATE") || words.contains("DELETE") || words.contains("INSERT")
            if !writes { return .read }
            let ordersOnly = first == "INSERT" && words.count > 2 && words[1] == "INTO" && words[2].hasPrefix("ORDERS")
            return ordersOnly ? .order : .write
        default: return .statement
        }
    }
}
