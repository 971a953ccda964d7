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
    /// Which worker thread settled it: `host:pid/thread`.
    public var worker: String
    /// When the transaction committed (or the request was settled), nanoseconds since the Unix epoch.
    public var finishedAt: UInt64
    /// The error, for `failed` outcomes.
    public var error: String?

    public init(
        requestId: UUID,
        runId: UUID,
        itemId: Int64,
        strategy: StrategyName,
        outcome: PurchaseOutcome,
        retries: Int,
        worker: String,
        finishedAt: UInt64,
        error: String? = nil
    ) {
        self.requestId = requestId
        self.runId = runId
        self.itemId = itemId
        self.strategy = strategy
        self.outcome = outcome
        self.retries = retries
        self.worker = worker
        self.finishedAt = finishedAt
        self.error = error
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
