import Foundation
import Postgres

/// Runs a strategy for one request to its end: retries lost races with jittered backoff, and turns
/// database errors into outcomes. SQLSTATEs are classified here and nowhere else.
public struct PurchaseExecutor: Sendable {
    /// How hard a strategy tries before it gives up.
    public struct RetryPolicy: Sendable, Equatable {
        /// Attempts in all, the first included.
        public var maxAttempts: Int
        /// The backoff before attempt n+1 is random in `0...min(maxBackoff, baseBackoff · 2^n)`.
        public var baseBackoffMicroseconds: Int
        public var maxBackoffMicroseconds: Int

        public init(maxAttempts: Int = 32, baseBackoffMicroseconds: Int = 200, maxBackoffMicroseconds: Int = 20_000) {
            self.maxAttempts = maxAttempts
            self.baseBackoffMicroseconds = baseBackoffMicroseconds
            self.maxBackoffMicroseconds = maxBackoffMicroseconds
        }

        func backoff(afterAttempt attempt: Int) -> Int {
            let ceiling = min(maxBackoffMicroseconds, baseBackoffMicroseconds << min(attempt, 20))
            return Int.random(in: 0...max(ceiling, 0))
        }
    }

    /// What became of a request.
    public struct Settlement: Sendable, Equatable {
        public var outcome: PurchaseOutcome
        public var retries: Int
        public var error: String?
    }

    /// How a database error bears on the purchase.
    enum FailureClass: Equatable {
        /// A lost race the server resolved by aborting us (serialization failure, deadlock, lock not available).
        case transient
        /// The order for this request id exists already: a redelivery of a request that committed.
        case alreadyPurchased
        /// The connection is gone: the request's fate is for a fresh connection to decide.
        case connectionLost
        case failed
    }

    public var policy: RetryPolicy

    public init(policy: RetryPolicy = RetryPolicy()) {
        self.policy = policy
    }

    static func classify(_ error: PostgresError) -> FailureClass {
        if error.kind == .connectionLost || error.kind == .connect { return .connectionLost }
        switch error.sqlState {
        case "40001", "40P01", "55P03": return .transient
        case "23505": return .alreadyPurchased
        default: return .failed
        }
    }

    /// Settles `request` with its strategy on `db`.
    ///
    /// A `redelivered` request is first looked up in the orders: its earlier delivery may have committed
    /// just before its worker died, and then it has bought already, whatever the stock says now.
    ///
    /// - Throws: `PostgresError` only when the connection was lost; the caller reconnects and lets the
    ///   message be redelivered (idempotency on the request id makes that safe).
    public func settle(_ request: PurchaseRequest, redelivered: Bool = false, on db: PostgresConnection) throws -> Settlement {
        if redelivered, try !db.execute(OrderSQL.exists, [request.requestId.uuidString]).rows.isEmpty {
            return Settlement(outcome: .purchased, retries: 0, error: nil)
        }
        let strategy = request.strategy.strategy
        var attempt = 0
        while true {
            do {
                switch try strategy.attempt(request, on: db) {
                case .purchased: return Settlement(outcome: .purchased, retries: attempt, error: nil)
                case .soldOut: return Settlement(outcome: .soldOut, retries: attempt, error: nil)
                case .noSuchItem:
                    return Settlement(outcome: .deadLettered, retries: attempt, error: "item \(request.itemId) does not exist")
                case .conflict: break
                }
            } catch let error as PostgresError {
                switch Self.classify(error) {
                case .transient: break
                case .alreadyPurchased: return Settlement(outcome: .purchased, retries: attempt, error: nil)
                case .connectionLost: throw error
                case .failed: return Settlement(outcome: .failed, retries: attempt, error: error.message)
                }
            }
            attempt += 1
            if attempt >= policy.maxAttempts { return Settlement(outcome: .gaveUp, retries: attempt - 1, error: nil) }
            usleep(UInt32(policy.backoff(afterAttempt: attempt)))
        }
    }
}
