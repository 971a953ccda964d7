import Foundation
import RaceLab
import Synchronization

/// What the server knows of the purchases it accepted: their status, the metrics, and the live event feed.
///
/// Shared by route handlers (async) and the outcome listener's thread, so it is a `Mutex`-guarded class.
/// It remembers the most recent ``capacity`` purchases; older ones are forgotten (`404`).
final class PurchaseLedger: Sendable {
    /// One accepted purchase.
    struct Entry: Sendable {
        var request: PurchaseRequest
        var outcome: OutcomeMessage?
    }

    private struct State {
        var entries: [UUID: Entry] = [:]
        var order: [UUID] = []
        var orderHead = 0
        var metrics = PurchaseMetrics()
        var subscribers: [UUID: AsyncStream<ServerEvent>.Continuation] = [:]
        var closed = false
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// Records a request about to be published, so its outcome is never missed.
    func recordPending(_ request: PurchaseRequest) {
        state.withLock { state in
            state.entries[request.requestId] = Entry(request: request)
            state.order.append(request.requestId)
            while state.order.count - state.orderHead > capacity {
                state.entries[state.order[state.orderHead]] = nil
                state.orderHead += 1
            }
            if state.orderHead > capacity {
                state.order.removeFirst(state.orderHead)
                state.orderHead = 0
            }
        }
    }

    /// The broker confirmed the request.
    func recordAccepted() {
        state.withLock { $0.metrics.recordAccepted() }
    }

    /// The broker did not take the request: it is forgotten.
    func recordUnavailable(_ requestId: UUID) {
        state.withLock { state in
            state.entries[requestId] = nil
            state.metrics.recordRejected()
        }
    }

    /// Records a worker's outcome and tells every subscriber.
    /// - Returns: false for an outcome already seen or of a request this server does not know.
    @discardableResult
    func recordOutcome(_ outcome: OutcomeMessage) -> Bool {
        state.withLock { state in
            guard var entry = state.entries[outcome.requestId], entry.outcome == nil else { return false }
            entry.outcome = outcome
            state.entries[outcome.requestId] = entry
            let published = entry.request.publishedAt
            let latency = outcome.finishedAt >= published ? Double(outcome.finishedAt - published) / 1e9 : nil
            state.metrics.record(outcome.outcome, strategy: entry.request.strategy, latencySeconds: latency)
            for subscriber in state.subscribers.values { subscriber.yield(.outcome(outcome)) }
            return true
        }
    }

    /// Tells every subscriber an event not tied to one purchase (a stock change).
    func broadcast(_ event: ServerEvent) {
        state.withLock { state in
            for subscriber in state.subscribers.values { subscriber.yield(event) }
        }
    }

    /// The purchase with this id, if the server still remembers it.
    func entry(_ requestId: UUID) -> Entry? {
        state.withLock { $0.entries[requestId] }
    }

    var metrics: PurchaseMetrics { state.withLock { $0.metrics } }

    /// A live feed of events from now on; it ends when the consumer stops iterating or the ledger closes.
    /// A subscriber that falls more than 4096 events behind loses the oldest.
    func subscribe() -> AsyncStream<ServerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: ServerEvent.self, bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        let added = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.subscribers[id] = continuation
            return true
        }
        guard added else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every feed (on shutdown, so open event streams let the server stop).
    func close() {
        let subscribers = state.withLock { state in
            state.closed = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}
