import Foundation
import RaceLabCore

/// Every request's life in a run, as JSON lines other tools can check (Jepsen-style histories):
/// one `invoke` when it was published, then one completion — `ok` (it bought), `fail` (it certainly did
/// not: sold out, gave up, failed, dead-lettered) or `info` (its fate is unknown).
///
/// Kept in memory during the run and written at the end; used from the harness thread only.
public final class RunHistory {
    /// One line of the history.
    public struct Event: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable {
            case invoke, ok, fail, info
        }

        public var type: Kind
        public var f = "purchase"
        /// The buyer, as the process that invoked the operation.
        public var process: Int64
        public var requestId: UUID
        public var runId: UUID
        public var strategy: StrategyName
        public var itemId: Int64
        public var quantity: Int
        /// Nanoseconds since the Unix epoch: publish time for `invoke`, commit/settle time otherwise.
        public var time: UInt64
        public var outcome: PurchaseOutcome?
        public var worker: String?
        public var error: String?
    }

    public private(set) var events: [Event] = []
    private var requests: [UUID: PurchaseRequest] = [:]

    public init() {}

    func invoked(_ request: PurchaseRequest) {
        requests[request.requestId] = request
        events.append(event(.invoke, request, time: request.publishedAt))
    }

    func completed(_ outcome: OutcomeMessage) {
        guard let request = requests[outcome.requestId] else { return }
        var completion = event(outcome.outcome == .purchased ? .ok : .fail, request, time: outcome.finishedAt)
        completion.outcome = outcome.outcome
        completion.worker = outcome.worker
        completion.error = outcome.error
        events.append(completion)
    }

    /// A request whose outcome never arrived but whose order is in the database.
    func recovered(requestId: UUID, runId: UUID) {
        guard let request = requests[requestId] else { return }
        var completion = event(.ok, request, time: WallClock.nanoseconds())
        completion.outcome = .purchased
        completion.error = "no outcome arrived; the order is in the database"
        events.append(completion)
    }

    /// A request whose outcome never arrived, found in the dead-letter queue.
    func deadLettered(requestId: UUID, reason: String) {
        guard let request = requests[requestId] else { return }
        var completion = event(.fail, request, time: WallClock.nanoseconds())
        completion.outcome = .deadLettered
        completion.error = reason
        events.append(completion)
    }

    func indeterminate(requestId: UUID) {
        guard let request = requests[requestId] else { return }
        var completion = event(.info, request, time: WallClock.nanoseconds())
        completion.error = "no outcome and no order: unknown"
        events.append(completion)
    }

    private func event(_ type: Event.Kind, _ request: PurchaseRequest, time: UInt64) -> Event {
        Event(
            type: type,
            process: request.buyerId,
            requestId: request.requestId,
            runId: request.runId,
            strategy: request.strategy,
            itemId: request.itemId,
            quantity: request.quantity,
            time: time
        )
    }

    /// Writes the events in time order, one JSON object per line, atomically (a new file renamed into
    /// place: a reader never sees half a history, a full disk leaves the old file as it was).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = Data()
        for event in events.sorted(by: { $0.time < $1.time }) {
            data.append(try encoder.encode(event))
            data.append(0x0A)
        }
        try data.write(to: url, options: .atomic)
    }
}
