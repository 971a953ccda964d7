import Foundation

/// One round trip a connection made: the statements it sent together, and what each one answered.
///
/// Seen by a connection's ``PostgresConnection/observer`` (tracing); a connection without one does
/// none of this bookkeeping.
public struct RoundTrip: Sendable {
    /// One statement of the round trip.
    public struct Statement: Sendable {
        /// The prepared statement's name; nil for one sent without preparing.
        public var name: String?
        public var sql: String
        public var parameters: [String?]
        /// Its result; nil when it failed or the server skipped it after an earlier failure.
        public var result: PostgresResult?
        /// The SQLSTATE it failed with.
        public var sqlState: String?
        /// When its answer arrived, nanoseconds since the Unix epoch (``RoundTrip/now()``).
        public var answeredAt: UInt64

        public init(name: String?, sql: String, parameters: [String?], result: PostgresResult?, sqlState: String?, answeredAt: UInt64) {
            self.name = name
            self.sql = sql
            self.parameters = parameters
            self.result = result
            self.sqlState = sqlState
            self.answeredAt = answeredAt
        }
    }

    /// When the first statement was sent, nanoseconds since the Unix epoch.
    public var sentAt: UInt64
    public var statements: [Statement]

    public init(sentAt: UInt64, statements: [Statement]) {
        self.sentAt = sentAt
        self.statements = statements
    }

    /// This host's wall clock (`CLOCK_REALTIME`), nanoseconds since the Unix epoch: one clock for every
    /// process on the host, so the round trips of different workers order correctly against each other.
    public static func now() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

/// Sees every round trip of one connection, on the connection's own thread, after it completed.
public protocol RoundTripObserver: AnyObject {
    func observe(_ roundTrip: RoundTrip)
}
