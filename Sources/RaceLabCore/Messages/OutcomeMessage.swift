import Foundation

/// What a worker reports for one request on `racelab.outcomes`, routed by run id.
///
/// A message body is one outcome (a JSON object) or several of the same run (a JSON array): a worker
/// that settles requests back to back sends their outcomes together. ``MessageCodec/decodeOutcomes(from:)``
/// reads either.
public struct OutcomeMessage: Codable, Sendable, Equatable {
    public var requestId: UUID
    public var runId: UUID
    public var itemId: Int64
    public var strategy: StrategyName
    public var outcome: PurchaseOutcome
    /// How many times the strategy started over (optimistic conflicts, deadlocks, serialization failures).
    public var retries: Int
    /// How many of those retries followed a transaction the server aborted (SQLSTATE 40001, 40P01).
    public var aborts: Int
    /// Which worker thread settled it: `host:pid/thread`.
    public var worker: String
    /// When the transaction committed (or the request was settled), nanoseconds since the Unix epoch.
    public var finishedAt: UInt64
    /// The error, for `failed` outcomes.
    public var error: String?
    /// Every attempt step by step, when the request asked for a trace.
    public var trace: [AttemptTrace]?

    private enum CodingKeys: String, CodingKey {
        case requestId, runId, itemId, strategy, outcome, retries, aborts, worker, finishedAt, error, trace
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        requestId = try container.decode(UUID.self, forKey: .requestId)
        runId = try container.decode(UUID.self, forKey: .runId)
        itemId = try container.decode(Int64.self, forKey: .itemId)
        strategy = try container.decode(StrategyName.self, forKey: .strategy)
        outcome = try container.decode(PurchaseOutcome.self, forKey: .outcome)
        retries = try container.decode(Int.self, forKey: .retries)
        aborts = try container.decodeIfPresent(Int.self, forKey: .aborts) ?? 0
        worker = try container.decode(String.self, forKey: .worker)
        finishedAt = try container.decode(UInt64.self, forKey: .finishedAt)
        error = try container.decodeIfPresent(String.self, forKey: .error)
        trace = try container.decodeIfPresent([AttemptTrace].self, forKey: .trace)
    }

    public init(
        requestId: UUID,
        runId: UUID,
        itemId: Int64,
        strategy: StrategyName,
        outcome: PurchaseOutcome,
        retries: Int,
        aborts: Int = 0,
        worker: String,
        finishedAt: UInt64,
        error: String? = nil,
        trace: [AttemptTrace]? = nil
    ) {
        self.requestId = requestId
        self.runId = runId
        self.itemId = itemId
        self.strategy = strategy
        self.outcome = outcome
        self.retries = retries
        self.aborts = aborts
        self.worker = worker
        self.finishedAt = finishedAt
        self.error = error
        self.trace = trace
    }
}

extension MessageCodec {
    /// The outcomes in one message body: a single object or an array of them.
    public func decodeOutcomes(from bytes: [UInt8]) throws(MessageDecodingError) -> [OutcomeMessage] {
        let first = bytes.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
        if first == UInt8(ascii: "[") {
            if let objects = FlatJSON.objects(bytes) {
                let outcomes = objects.compactMap(OutcomeMessage.init(flat:))
                if outcomes.count == objects.count { return outcomes }
            }
            return try decode([OutcomeMessage].self, from: bytes)
        }
        return [try decode(OutcomeMessage.self, from: bytes)]
    }
}
