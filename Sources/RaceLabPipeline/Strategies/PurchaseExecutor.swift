import Foundation
import Postgres
import RaceLabCore

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
        /// Times the strategy started over.
        public var retries: Int
        /// How many of those followed a transaction the server aborted (40001, 40P01).
        public var aborts: Int
        public var error: String?
        /// The attempts step by step, when the request asked for a trace.
        public var trace: [AttemptTrace]?

        public init(outcome: PurchaseOutcome, retries: Int = 0, aborts: Int = 0, error: String? = nil, trace: [AttemptTrace]? = nil) {
            self.outcome = outcome
            self.retries = retries
            self.aborts = aborts
            self.error = error
            self.trace = trace
        }
    }

    /// How a database error bears on the purchase.
    enum FailureClass: Equatable {
        /// A lost race the server resolved by aborting the transaction (serialization failure, deadlock).
        case aborted
        /// A lock that was not available at once (`NOWAIT`): a conflict, tried again.
        case lockNotAvailable
        /// The order for this request id exists already: a redelivery of a request that committed.
        case alreadyPurchased
        /// The connection is gone: the request's fate is for a fresh connection to decide.
        case connectionLost
        /// Anything else, among it an order the run fence refused (``Schema/staleRunState``: the
        /// request's run is over): nothing was bought, and the error says why.
        case failed
    }

    public var policy: RetryPolicy

    public init(policy: RetryPolicy = RetryPolicy()) {
        self.policy = policy
    }

    static func classify(_ error: PostgresError) -> FailureClass {
        if error.kind == .connectionLost || error.kind == .connect { return .connectionLost }
        // The server is ending this session (terminated by an administrator or a shard's new owner,
        // shutting down) or the connection broke: whatever was in flight, a fresh connection decides.
        if let state = error.sqlState, state.hasPrefix("08") || state.hasPrefix("57P") { return .connectionLost }
        switch error.sqlState {
        case "40001", "40P01": return .aborted
        case "55P03": return .lockNotAvailable
        case "23505": return .alreadyPurchased
        default: return .failed
        }
    }

    /// Settles `request` with `strategy` on `db`, at the request's isolation level (the strategy's
    /// default when it names none).
    ///
    /// A `redelivered` request is first looked up in the orders: its earlier delivery may have committed
    /// just before its worker died, and then it has bought already, whatever the stock says now.
    /// Every request the strategy did not buy for is looked up again before it is answered (waiting
    /// for any other copy still in flight): a duplicate copy of a request that bought is answered
    /// `purchased` too, with every strategy, whatever it read.
    ///
    /// - Throws: `PostgresError` only when the connection was lost; the caller reconnects and lets the
    ///   message be redelivered (idempotency on the request id makes that safe).
    public func settle(
        _ request: PurchaseRequest,
        with strategy: any PurchaseStrategy,
        redelivered: Bool = false,
        on db: PostgresConnection
    ) throws -> Settlement {
        guard request.trace else { return try settleUntraced(request, with: strategy, redelivered: redelivered, on: db) }
        let tracer = AttemptTracer(session: db.backendPID, runId: request.runId)
        db.observer = tracer
        defer { db.observer = nil }
        var settlement = try settleUntraced(request, with: strategy, redelivered: redelivered, on: db, tracer: tracer)
        settlement.trace = tracer.attempts
        return settlement
    }

    private func settleUntraced(
        _ request: PurchaseRequest,
        with strategy: any PurchaseStrategy,
        redelivered: Bool,
        on db: PostgresConnection,
        tracer: AttemptTracer? = nil
    ) throws -> Settlement {
        if redelivered, try !db.execute(OrderSQL.exists, [request.requestId.uuidString]).rows.isEmpty {
            return Settlement(outcome: .purchased)
        }
        let settlement = try attempts(request, with: strategy, on: db, tracer: tracer)
        guard settlement.outcome.mayHaveBoughtElsewhere else { return settlement }
        guard try db.execute(OrderSQL.bought, [request.requestId.uuidString]).scalar == "t" else { return settlement }
        return Settlement(outcome: .purchased, retries: settlement.retries, aborts: settlement.aborts)
    }

    /// The strategy's attempts at `request`, with retries, to the first final answer.
    private func attempts(
        _ request: PurchaseRequest,
        with strategy: any PurchaseStrategy,
        on db: PostgresConnection,
        tracer: AttemptTracer?
    ) throws -> Settlement {
        let isolation = request.isolation ?? strategy.traits.defaultIsolation
        var attempt = 0
        var aborts = 0
        while true {
            do {
                tracer?.begin(attempt: attempt + 1)
                let result = try strategy.attempt(request, isolation: isolation, on: db)
                tracer?.end(AttemptTrace.Ending(result))
                switch result {
                case .purchased: return Settlement(outcome: .purchased, retries: attempt, aborts: aborts)
                case .soldOut: return Settlement(outcome: .soldOut, retries: attempt, aborts: aborts)
                case .noSuchItem:
                    return Settlement(outcome: .deadLettered, retries: attempt, aborts: aborts, error: "item \(request.itemId) does not exist")
                case .conflict: break
                }
            } catch let error as PostgresError {
                let failure = Self.classify(error)
                tracer?.end(AttemptTrace.Ending(failure), sqlState: error.sqlState)
                switch failure {
                case .aborted: aborts += 1
                case .lockNotAvailable: break
                case .alreadyPurchased: return Settlement(outcome: .purchased, retries: attempt, aborts: aborts)
                case .connectionLost: throw error
                case .failed: return Settlement(outcome: .failed, retries: attempt, aborts: aborts, error: error.message)
                }
            }
            attempt += 1
            if attempt >= policy.maxAttempts { return Settlement(outcome: .gaveUp, retries: attempt - 1, aborts: aborts) }
            usleep(UInt32(policy.backoff(afterAttempt: attempt)))
        }
    }

    /// Settles a batch for one item with `strategy` in one transaction. When the transaction fails for
    /// any reason but a lost connection (a duplicate request id, a deadlock), each request is settled on
    /// its own instead, so every one still gets its true outcome.
    ///
    /// - Throws: `PostgresError` only when the connection was lost.
    public func settle(batch: [BatchEntry], with strategy: any PurchaseStrategy, on db: PostgresConnection) throws -> [Settlement] {
        guard let first = batch.first else { return [] }
        let isolation = first.request.isolation ?? strategy.traits.defaultIsolation
        let tracer =
            batch.contains(where: \.request.trace) ? AttemptTracer(session: db.backendPID, runId: first.request.runId, batch: batch.count) : nil
        if let tracer { db.observer = tracer }
        defer { db.observer = nil }
        do {
            tracer?.begin(attempt: 1)
            let attempts: [PurchaseAttempt]
            do {
                attempts = try strategy.attempt(batch: batch, isolation: isolation, on: db)
            } catch let error as PostgresError {
                tracer?.end(AttemptTrace.Ending(Self.classify(error)), sqlState: error.sqlState)
                throw error
            }
            tracer?.end(attempts.contains(.purchased) ? .purchased : AttemptTrace.Ending(attempts.first ?? .soldOut))
            var settlements = zip(batch, attempts).map { entry, attempt in
                switch attempt {
                case .purchased: Settlement(outcome: .purchased)
                case .soldOut, .conflict: Settlement(outcome: .soldOut)
                case .noSuchItem: Settlement(outcome: .deadLettered, error: "item \(entry.request.itemId) does not exist")
                }
            }
            // The turned-away ones are looked up, as in the single-request path: another copy may have bought.
            let turnedAway = settlements.indices.filter { settlements[$0].outcome.mayHaveBoughtElsewhere }
            if !turnedAway.isEmpty {
                let ids = turnedAway.map { batch[$0].request.requestId.uuidString }
                let bought = Set(try db.execute(OrderSQL.boughtAmong, [PostgresConnection.arrayLiteral(ids)]).rows.compactMap { $0[0]?.uppercased() })
                for index in turnedAway where bought.contains(batch[index].request.requestId.uuidString) {
                    settlements[index] = Settlement(outcome: .purchased)
                }
            }
            if let tracer {
                for index in settlements.indices where batch[index].request.trace { settlements[index].trace = tracer.attempts }
            }
            return settlements
        } catch let error as PostgresError where Self.classify(error) != .connectionLost {
            db.observer = nil
            return try batch.map { entry in
                var settlement = try settle(entry.request, with: strategy, redelivered: entry.redelivered, on: db)
                // The batch's failed attempt first, then the request's own.
                if let tracer, entry.request.trace { settlement.trace = tracer.attempts + (settlement.trace ?? []) }
                return settlement
            }
        }
    }
}

extension PurchaseOutcome {
    /// An answer "not bought" that another copy of the same request may contradict.
    var mayHaveBoughtElsewhere: Bool { self == .soldOut || self == .gaveUp || self == .failed }
}
