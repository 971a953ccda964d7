import Foundation
import RaceLabCore
import RaceLabPipeline
import Synchronization

/// What the server knows of the purchases it took: each one's status by request id (so a re-POST is answered
/// from here), the metrics, the demo stampede in flight, and the live event feed.
///
/// Shared by route handlers (async) and the outcome listener's thread, so it is a `Mutex`-guarded class.
/// Bounded twice: it remembers the most recent ``capacity`` purchases (older ones are forgotten: `404`), and
/// a purchase with no outcome ``pendingDeadline`` after its publish turns `unknown` (its message was purged,
/// dead-lettered by the broker, or no worker took it) — a late outcome still settles it. Expiry is checked
/// on every call, against `now` (a parameter, so tests need no clock).
final class PurchaseLedger: Sendable {
    /// Where one purchase stands, as far as this server knows.
    enum Status: Sendable, Equatable {
        /// Handed to the publisher; RabbitMQ has not answered yet.
        case publishing
        /// RabbitMQ confirmed it; no outcome yet.
        case pending
        /// RabbitMQ did not confirm it (a nack, a timeout, a lost channel): it may or may not be delivered.
        case unconfirmed
        /// No outcome within the pending deadline.
        case expired
        /// Of another run (a harness firing its own): the outcome goes to that run, not to this server.
        case forwarded
        /// The worker's outcome.
        case settled(OutcomeMessage)

        /// `pending`, `unknown`, `forwarded` or the outcome, as `GET /purchases/{id}` says it.
        var name: String {
            switch self {
            case .publishing, .pending: "pending"
            case .unconfirmed, .expired: "unknown"
            case .forwarded: "forwarded"
            case .settled(let outcome): outcome.outcome.rawValue
            }
        }

        /// Why the status is `unknown`: `notConfirmed` or `expired`.
        var unknownReason: String? {
            switch self {
            case .unconfirmed: "notConfirmed"
            case .expired: "expired"
            default: nil
            }
        }

        /// Whether an outcome may still arrive for it and settle it.
        var awaitsOutcome: Bool {
            switch self {
            case .publishing, .pending, .unconfirmed, .expired: true
            case .forwarded, .settled: false
            }
        }

        /// Whether it still counts toward the stampede in flight: not settled and not past its deadline.
        fileprivate var isInFlight: Bool { self == .publishing || self == .pending || self == .unconfirmed }

        fileprivate var kind: Kind {
            switch self {
            case .publishing: .publishing
            case .pending: .pending
            case .unconfirmed: .unconfirmed
            case .expired: .expired
            case .forwarded: .forwarded
            case .settled: .settled
            }
        }
    }

    fileprivate enum Kind: CaseIterable { case publishing, pending, unconfirmed, expired, forwarded, settled }

    /// What the counts are kept by: the status, and whether the purchase is of this server's run or a
    /// harness's (`racelab run --via http` names its own run).
    private struct CountKey: Hashable {
        var kind: Kind
        var own: Bool
    }

    /// One purchase the server took.
    struct Entry: Sendable {
        var request: PurchaseRequest
        var status: Status
        /// When a `pending` or `unconfirmed` purchase turns `expired`.
        fileprivate var deadline: ContinuousClock.Instant?
        fileprivate var sequence: UInt64
    }

    /// What a `POST /purchases` with this request should do.
    enum Claim: Sendable {
        /// Publish it: it is new, or its earlier copy's fate is unknown. `previous` is what to restore when
        /// nothing could be sent (nil: forget it).
        case publish(previous: Status?)
        /// The same request was taken before: answer with where it stands.
        case known(Entry)
        /// The id was taken by a different request; `field` is the first field that differs.
        case conflict(field: String)
        /// The same request is being published right now.
        case publishing
    }

    private struct State {
        var entries: [UUID: Entry] = [:]
        var order: [(id: UUID, sequence: UInt64)] = []
        var orderHead = 0
        var nextSequence: UInt64 = 0
        var deadlines: [(id: UUID, at: ContinuousClock.Instant)] = []
        var deadlinesHead = 0
        var counts: [CountKey: Int] = [:]
        /// Purchases remembered of each harness run.
        var harnessRuns: [UUID: Int] = [:]
        var stampede: [UUID] = []
        /// The stock the last demo stampede reset its item to.
        var stampedeStock = 0
        var metrics = PurchaseMetrics()
        var subscribers: [UUID: AsyncStream<ServerEvent>.Continuation] = [:]
        var closed = false
    }

    let capacity: Int
    let pendingDeadline: Duration
    let maxSubscribers: Int
    private let ownRun: UUID
    private let state = Mutex(State())

    /// - Parameter ownRun: the server's run id; purchases of other runs are `forwarded`.
    init(ownRun: UUID, capacity: Int = 100_000, pendingDeadline: Duration = .seconds(600), maxSubscribers: Int = 32) {
        self.ownRun = ownRun
        self.capacity = max(1, capacity)
        self.pendingDeadline = pendingDeadline
        self.maxSubscribers = maxSubscribers
    }

    // MARK: Purchases

    /// Records a request about to be published, or says how to answer it when its id is known.
    func claim(_ request: PurchaseRequest, now: ContinuousClock.Instant = .now) -> Claim {
        state.withLock { state in
            expire(&state, now: now)
            guard let entry = state.entries[request.requestId] else {
                insert(&state, Entry(request: request, status: .publishing, sequence: 0))
                return .publish(previous: nil)
            }
            if let field = entry.request.firstDifference(from: request) { return .conflict(field: field) }
            switch entry.status {
            case .publishing:
                return .publishing
            case .unconfirmed, .expired:
                // Published again, so a copy the broker lost is delivered; a worker answers every copy alike.
                setStatus(&state, request.requestId, .publishing)
                return .publish(previous: entry.status)
            case .pending, .forwarded, .settled:
                return .known(entry)
            }
        }
    }

    /// RabbitMQ confirmed the request: it is `pending` (or `forwarded`) until its outcome or its deadline.
    /// - Returns: its status now (its outcome, when that came first).
    @discardableResult
    func recordConfirmed(_ requestId: UUID, now: ContinuousClock.Instant = .now) -> Status {
        state.withLock { state in
            guard let entry = state.entries[requestId] else {  // forgotten meanwhile (a full ledger)
                state.metrics.recordAccepted()
                return .pending
            }
            state.metrics.recordAccepted(forwarded: entry.request.runId != ownRun)
            guard entry.status == .publishing else { return entry.status }  // its outcome came first
            let status: Status = entry.request.runId == ownRun ? .pending : .forwarded
            setStatus(&state, requestId, status, deadline: status == .pending ? now + pendingDeadline : nil)
            return status
        }
    }

    /// RabbitMQ did not confirm the request: it is `unknown` (`notConfirmed`) until an outcome or its deadline.
    func recordUnconfirmed(_ requestId: UUID, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.metrics.recordRejected()
            guard state.entries[requestId]?.status == .publishing else { return }
            setStatus(&state, requestId, .unconfirmed, deadline: now + pendingDeadline)
        }
    }

    /// Nothing of the request reached RabbitMQ: it goes back to `previous`, or is forgotten.
    func recordNotSent(_ requestId: UUID, restoring previous: Status?, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            state.metrics.recordRejected()
            guard state.entries[requestId]?.status == .publishing else { return }
            if let previous {
                setStatus(&state, requestId, previous, deadline: previous == .unconfirmed ? now + pendingDeadline : nil)
            } else {
                remove(&state, requestId)
            }
        }
    }

    /// Records a worker's outcome and tells every subscriber.
    /// - Returns: false for an outcome already seen or of a request this server does not know.
    @discardableResult
    func recordOutcome(_ outcome: OutcomeMessage) -> Bool {
        state.withLock { state in
            guard let entry = state.entries[outcome.requestId], entry.status.awaitsOutcome else { return false }
            setStatus(&state, outcome.requestId, .settled(outcome))
            let published = entry.request.publishedAt
            let latency = outcome.finishedAt >= published ? Double(outcome.finishedAt - published) / 1e9 : nil
            state.metrics.record(outcome.outcome, strategy: entry.request.strategy, latencySeconds: latency)
            for subscriber in state.subscribers.values { subscriber.yield(.outcome(outcome)) }
            return true
        }
    }

    /// The purchase with this id, if the server still remembers it.
    func entry(_ requestId: UUID, now: ContinuousClock.Instant = .now) -> Entry? {
        state.withLock { state in
            expire(&state, now: now)
            return state.entries[requestId]
        }
    }

    // MARK: Demo stampedes

    /// Records a demo stampede's requests, all about to be published, unless the previous stampede is still
    /// in flight (some of its purchases neither settled nor past their deadline).
    /// - Returns: nil when recorded; else how many of the running stampede's purchases are still in flight.
    func beginStampede(_ requests: [PurchaseRequest], stock: Int = 0, now: ContinuousClock.Instant = .now) -> Int? {
        state.withLock { state in
            expire(&state, now: now)
            let running = state.stampede.count(where: { state.entries[$0]?.status.isInFlight == true })
            guard running == 0 else { return running }
            for request in requests { insert(&state, Entry(request: request, status: .publishing, sequence: 0)) }
            state.stampede = requests.map(\.requestId)
            state.stampedeStock = stock
            return nil
        }
    }

    /// The last demo stampede as far as the server remembers it: its requests, the outcomes that came
    /// back (with their traced attempts), how many are still in flight, and the stock it started from.
    struct StampedeRecord: Sendable {
        var requests: [PurchaseRequest]
        var outcomes: [OutcomeMessage]
        var inFlight: Int
        var stock: Int
    }

    /// nil before the first demo stampede.
    func lastStampede(now: ContinuousClock.Instant = .now) -> StampedeRecord? {
        state.withLock { state in
            expire(&state, now: now)
            guard !state.stampede.isEmpty else { return nil }
            var record = StampedeRecord(requests: [], outcomes: [], inFlight: 0, stock: state.stampedeStock)
            for id in state.stampede {
                guard let entry = state.entries[id] else { continue }
                record.requests.append(entry.request)
                if case .settled(let outcome) = entry.status { record.outcomes.append(outcome) }
                if entry.status.isInFlight { record.inFlight += 1 }
            }
            return record
        }
    }

    // MARK: Counts

    /// The numbers `/stats` and `/metrics` show.
    struct Snapshot: Sendable {
        var metrics: PurchaseMetrics
        /// Purchases of this server's run awaiting an outcome (publishing or confirmed).
        var pending: Int
        /// Purchases of this server's run whose fate is unknown (not confirmed, or past the deadline).
        var unknown: Int
        /// Harness runs' purchases (another run's id): their outcomes go to the harness, so they are in
        /// none of the counts above.
        var harness: HarnessCounts

        /// The Prometheus text, with these counts as its gauges; `queueDepth` is nil when the broker did not answer.
        func exposition(queueDepth: Int?) -> String {
            String(decoding: metrics.prometheus.exposition(pending: pending, unknown: unknown, queueDepth: queueDepth), as: UTF8.self)
        }
    }

    /// What the server forwarded for harness runs (`racelab run --via http`).
    struct HarnessCounts: Sendable, Equatable {
        /// Distinct harness runs among the purchases the server remembers.
        var runs: Int
        /// Harness purchases RabbitMQ confirmed, since the server started.
        var forwarded: Int
        /// Harness purchases being published now.
        var publishing: Int
        /// Harness purchases RabbitMQ did not confirm (the harness counts their fate itself).
        var unconfirmed: Int
    }

    func snapshot(now: ContinuousClock.Instant = .now) -> Snapshot {
        state.withLock { state in
            expire(&state, now: now)
            let counts = state.counts
            let count = { (kind: Kind, own: Bool) in counts[CountKey(kind: kind, own: own), default: 0] }
            return Snapshot(
                metrics: state.metrics,
                pending: count(.publishing, true) + count(.pending, true),
                unknown: count(.unconfirmed, true) + count(.expired, true),
                harness: HarnessCounts(
                    runs: state.harnessRuns.count,
                    forwarded: state.metrics.forwarded,
                    publishing: count(.publishing, false),
                    unconfirmed: count(.unconfirmed, false) + count(.expired, false)
                )
            )
        }
    }

    // MARK: Event feed

    /// Tells every subscriber an event not tied to one purchase (a stock change, a keep-alive).
    func broadcast(_ event: ServerEvent) {
        state.withLock { state in
            for subscriber in state.subscribers.values { subscriber.yield(event) }
        }
    }

    /// A live feed of events from now on, or nil when ``maxSubscribers`` feeds are open already. It ends
    /// when the consumer stops iterating or the ledger closes. A subscriber that falls more than 4096 events
    /// behind loses the oldest.
    func subscribe() -> AsyncStream<ServerEvent>? {
        let (stream, continuation) = AsyncStream.makeStream(of: ServerEvent.self, bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        enum Admission { case added, full, closed }
        let admission = state.withLock { state -> Admission in
            guard !state.closed else { return .closed }
            guard state.subscribers.count < maxSubscribers else { return .full }
            state.subscribers[id] = continuation
            return .added
        }
        switch admission {
        case .full:
            return nil
        case .closed:
            continuation.finish()
            return stream
        case .added:
            continuation.onTermination = { [weak self] _ in
                self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
            }
            return stream
        }
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

    // MARK: State changes (under the lock)

    private func insert(_ state: inout State, _ entry: Entry) {
        var entry = entry
        entry.sequence = state.nextSequence
        state.nextSequence += 1
        state.entries[entry.request.requestId] = entry
        state.counts[countKey(entry), default: 0] += 1
        if entry.request.runId != ownRun { state.harnessRuns[entry.request.runId, default: 0] += 1 }
        state.order.append((entry.request.requestId, entry.sequence))
        while state.entries.count > capacity, state.orderHead < state.order.count {
            let oldest = state.order[state.orderHead]
            state.orderHead += 1
            if state.entries[oldest.id]?.sequence == oldest.sequence { remove(&state, oldest.id) }
        }
        if state.orderHead > capacity {
            state.order.removeFirst(state.orderHead)
            state.orderHead = 0
        }
    }

    private func remove(_ state: inout State, _ id: UUID) {
        guard let entry = state.entries.removeValue(forKey: id) else { return }
        state.counts[countKey(entry), default: 0] -= 1
        let run = entry.request.runId
        if run != ownRun, let remembered = state.harnessRuns[run] {
            state.harnessRuns[run] = remembered > 1 ? remembered - 1 : nil
        }
    }

    private func countKey(_ entry: Entry) -> CountKey {
        CountKey(kind: entry.status.kind, own: entry.request.runId == ownRun)
    }

    /// The one place a status changes, so the counts and the deadline queue follow it.
    private func setStatus(_ state: inout State, _ id: UUID, _ status: Status, deadline: ContinuousClock.Instant? = nil) {
        guard var entry = state.entries[id] else { return }
        state.counts[countKey(entry), default: 0] -= 1
        entry.status = status
        state.counts[countKey(entry), default: 0] += 1
        entry.deadline = deadline
        state.entries[id] = entry
        if let deadline { state.deadlines.append((id, deadline)) }
    }

    /// Turns every `pending` or `unconfirmed` purchase whose deadline has passed into `expired`.
    private func expire(_ state: inout State, now: ContinuousClock.Instant) {
        while state.deadlinesHead < state.deadlines.count, state.deadlines[state.deadlinesHead].at <= now {
            let (id, at) = state.deadlines[state.deadlinesHead]
            state.deadlinesHead += 1
            if let entry = state.entries[id], entry.deadline == at, entry.status == .pending || entry.status == .unconfirmed {
                setStatus(&state, id, .expired)
            }
        }
        // Deadlines are appended in order (now + a constant), so the queue stays sorted; drop what was read,
        // and what names forgotten purchases once it outgrows the ledger.
        if state.deadlinesHead > 1024, state.deadlinesHead * 2 > state.deadlines.count {
            state.deadlines.removeFirst(state.deadlinesHead)
            state.deadlinesHead = 0
        }
        if state.deadlines.count > 2 * capacity {
            // Only unread deadlines of live purchases still match their entry.
            let entries = state.entries
            state.deadlines.removeAll { entries[$0.id]?.deadline != $0.at }
            state.deadlinesHead = 0
        }
    }
}
