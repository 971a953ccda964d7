import Foundation
import Postgres
import RaceLabCore

/// The decisions of one consumer thread, with no I/O: which request to settle when, which to hold for
/// its run's gate, which to gather into a batch, and when to publish outcomes and ack what.
///
/// Events go in (a request arrived, a gate opened, a request was settled, the queue is drained, time
/// passed); ``Action``s come out, and the thread that owns the AMQP and PostgreSQL connections carries
/// them out in order, feeding back what happened (``settled(_:_:outcome:)``, ``deadLettered(_:)``).
///
/// The invariants it keeps: a request is acked only after its outcome was published, and so after its
/// COMMIT; a `basic.ack multiple` never reaches a request that is not settled (held, waiting in a
/// batch, in hand); outcomes of one run settled back to back go out as one message.
struct ConsumerStateMachine {
    /// A delivery as the machine sees it: its tag, whether the broker flagged it redelivered, and where from.
    struct Delivery: Sendable, Equatable {
        var tag: UInt64
        var redelivered: Bool
        /// The shard queue it came from, or nil for `racelab.purchases`.
        var shard: Int?

        init(tag: UInt64, redelivered: Bool = false, shard: Int? = nil) {
            self.tag = tag
            self.redelivered = redelivered
            self.shard = shard
        }
    }

    /// Requests settled together: one strategy, one item, one isolation level.
    struct BatchKey: Hashable, Sendable {
        var strategy: StrategyName
        var itemId: Int64
        var isolation: IsolationLevel?
    }

    /// What the owning thread must do.
    enum Action: Sendable, Equatable {
        /// Settle one request with its strategy, then report ``settled(_:_:outcome:)``.
        case settle(Delivery, PurchaseRequest)
        /// Settle these requests together (a batching strategy, one item), then report each.
        case settleBatch([Delivery], [PurchaseRequest])
        /// Re-publish the request to the dead-letter exchange with `reason`, wait for the confirm, tell
        /// its harness (when the request could be read), ack it, then report ``deadLettered(_:)``.
        case deadLetter(Delivery, reason: String, request: PurchaseRequest?)
        /// Publish the outcomes of one run as one message (an object for one, an array for more).
        case publish(runId: UUID, [OutcomeMessage])
        /// Acknowledge a delivery (with `multiple`, every earlier one on the channel too).
        case ack(UInt64, multiple: Bool)
    }

    /// Settled requests per outcome message and ack, and requests per batch.
    let batchSize: Int
    /// How long a gated request waits for its gate before it is served anyway (its harness died).
    let gateTimeoutNanoseconds: UInt64

    private var held: [(delivery: Delivery, request: PurchaseRequest, batch: BatchKey?, since: UInt64)] = []
    /// Runs whose gate opened, most recent last (bounded).
    private var openedRuns: [UUID] = []
    /// Tags received and neither settled nor acked: held, waiting in a batch, or in hand.
    private var unsettled: Set<UInt64> = []
    /// Settled requests whose outcome is not yet published, in settling order.
    private var settled: [(tag: UInt64, outcome: OutcomeMessage)] = []
    /// Batches waiting for more requests, and the order their keys first appeared in.
    private var batches: [BatchKey: [(delivery: Delivery, request: PurchaseRequest)]] = [:]
    private var batchOrder: [BatchKey] = []

    init(batchSize: Int, gateTimeoutSeconds: Double) {
        self.batchSize = max(1, batchSize)
        self.gateTimeoutNanoseconds = UInt64(max(0, gateTimeoutSeconds) * 1e9)
    }

    /// Something is settled but not yet published, or waits in a batch: the thread should not block
    /// on the queue before flushing.
    var hasUnsent: Bool { !settled.isEmpty || !batches.isEmpty }

    /// As many outcomes wait as one message and one ack should carry.
    var isFull: Bool { settled.count >= batchSize }

    /// Requests held for a gate, oldest first (for tests and logs).
    var heldCount: Int { held.count }

    // MARK: Events

    /// A well-formed request arrived; `batches` tells whether its strategy settles ready requests together.
    mutating func received(_ delivery: Delivery, _ request: PurchaseRequest, batches: Bool, now: UInt64) -> [Action] {
        unsettled.insert(delivery.tag)
        let key = batches && batchSize > 1 ? BatchKey(strategy: request.strategy, itemId: request.itemId, isolation: request.isolation) : nil
        if request.gated && !openedRuns.contains(request.runId) {
            held.append((delivery, request, key, now))
            return []
        }
        return dispatch(delivery, request, key)
    }

    /// A request that cannot be served arrived (too large, not JSON, a bad field, an unknown strategy).
    mutating func rejected(_ delivery: Delivery, reason: String, request: PurchaseRequest?) -> [Action] {
        unsettled.insert(delivery.tag)
        return [.deadLetter(delivery, reason: reason, request: request)]
    }

    /// A run's gate opened: its held requests are served, in the order they arrived.
    mutating func gateOpened(runId: UUID) -> [Action] {
        // The harness repeats the signal while its run lasts; remember each run once.
        if !openedRuns.contains(runId) {
            openedRuns.append(runId)
            if openedRuns.count > 64 { openedRuns.removeFirst(openedRuns.count - 64) }
        }
        var actions: [Action] = []
        var kept: [(delivery: Delivery, request: PurchaseRequest, batch: BatchKey?, since: UInt64)] = []
        for entry in held {
            if entry.request.runId == runId {
                actions += dispatch(entry.delivery, entry.request, entry.batch)
            } else {
                kept.append(entry)
            }
        }
        held = kept
        return actions
    }

    /// The thread settled a request; its outcome waits for the next flush — unless it must be
    /// dead-lettered (its item does not exist).
    mutating func settled(_ delivery: Delivery, _ request: PurchaseRequest, outcome: OutcomeMessage) -> [Action] {
        if outcome.outcome == .deadLettered {
            return [.deadLetter(delivery, reason: outcome.error ?? "cannot be served", request: request)]
        }
        unsettled.remove(delivery.tag)
        settled.append((delivery.tag, outcome))
        return []
    }

    /// The thread dead-lettered (and acked) a request.
    mutating func deadLettered(_ delivery: Delivery) {
        unsettled.remove(delivery.tag)
    }

    /// Time passed with nothing to receive: requests held longer than the gate timeout are served.
    mutating func tick(now: UInt64) -> [Action] {
        let cutoff = now &- gateTimeoutNanoseconds
        guard now >= gateTimeoutNanoseconds else { return [] }
        var actions: [Action] = []
        while let first = held.first, first.since < cutoff {
            held.removeFirst()
            actions += dispatch(first.delivery, first.request, first.batch)
        }
        return actions
    }

    // MARK: Flushing

    /// The waiting batches, to settle before the thread would block (step one of a flush).
    mutating func settleWaitingBatches() -> [Action] {
        let keys = batchOrder
        batchOrder.removeAll()
        return keys.compactMap { key in
            guard let entries = batches.removeValue(forKey: key), !entries.isEmpty else { return nil }
            return .settleBatch(entries.map(\.delivery), entries.map(\.request))
        }
    }

    /// The settled outcomes, one message per run in settling order, then their acks (step two).
    ///
    /// One `basic.ack multiple` covers them all unless a request not yet settled has a lower tag, which
    /// it would ack too; then each is acked alone.
    mutating func publishSettled() -> [Action] {
        guard let highest = settled.map(\.tag).max() else { return [] }
        var actions: [Action] = []
        var start = settled.startIndex
        while start < settled.endIndex {
            let runId = settled[start].outcome.runId
            var end = start + 1
            while end < settled.endIndex && settled[end].outcome.runId == runId { end += 1 }
            actions.append(.publish(runId: runId, settled[start..<end].map(\.outcome)))
            start = end
        }
        if unsettled.allSatisfy({ $0 > highest }) {
            actions.append(.ack(highest, multiple: true))
        } else {
            actions += settled.map { .ack($0.tag, multiple: false) }
        }
        settled.removeAll(keepingCapacity: true)
        return actions
    }

    // MARK: Private

    private mutating func dispatch(_ delivery: Delivery, _ request: PurchaseRequest, _ key: BatchKey?) -> [Action] {
        guard let key else { return [.settle(delivery, request)] }
        if batches[key] == nil { batchOrder.append(key) }
        batches[key, default: []].append((delivery, request))
        guard let entries = batches[key], entries.count >= batchSize else { return [] }
        batches[key] = nil
        batchOrder.removeAll { $0 == key }
        return [.settleBatch(entries.map(\.delivery), entries.map(\.request))]
    }
}
