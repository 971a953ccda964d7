import Foundation

/// The story of a traced run in plain words (`racelab explain`), derived from what the workers
/// observed: the first lost update told step by step and how many there were, the lock queue of the
/// locking strategies, and the conflicts and retries of the others.
public struct RaceStory: Codable, Sendable, Equatable {
    /// One observed step of one buyer, for the story's telling.
    public struct Moment: Codable, Sendable, Equatable {
        public var buyerId: Int64
        public var session: Int
        /// read, lock, write, commit…
        public var kind: String
        /// Milliseconds since the trace's first attempt started.
        public var atMs: Double
        public var value: String?
    }

    /// Buyers who bought after reading the same stock, each before the other's write committed: one
    /// of their updates overwrote the other's (a lost update).
    public struct Collision: Codable, Sendable, Equatable {
        public var itemId: Int64
        /// The stock they all read.
        public var stockRead: String
        /// What they wrote, when the trace shows it.
        public var written: String?
        /// The buyers, in the order they committed (the first two are the ones the story tells).
        public var buyerIds: [Int64]
        public var requestIds: [UUID]
        /// The first two buyers' reads and writes, in time order.
        public var moments: [Moment]
        public var text: String
    }

    public struct LockQueue: Codable, Sendable, Equatable {
        /// Lock requests granted (the `SELECT … FOR UPDATE`, the advisory lock).
        public var grants: Int
        /// The most requests waiting for a lock on one item at one instant, and when.
        public var longest: Int
        public var longestAtMs: Double
        /// Who waited longest, on which session, and how long.
        public var longestWaitBuyerId: Int64
        public var longestWaitSession: Int
        public var longestWaitMs: Double
        public var medianWaitMs: Double
        /// Grants that followed the previous holder's end (its COMMIT or ROLLBACK sent) on the same item.
        public var handOffs: Int
        /// Grants that came before the previous holder ended: the lock did not serialize them.
        public var overlaps: Int
        /// Median time from the previous holder's COMMIT/ROLLBACK being sent to the next grant.
        public var medianHandOffMs: Double?
        public var text: String
    }

    public struct Conflicts: Codable, Sendable, Equatable {
        /// Attempts that ended in a version conflict or a claimed unit (retried).
        public var conflicts: Int
        /// Transactions the server aborted: serialization failures (40001) and deadlocks (40P01).
        public var serializationFailures: Int
        public var deadlocks: Int
        /// Locks not available at once (`NOWAIT`, 55P03).
        public var lockNotAvailable: Int
        /// Attempts after a request's first.
        public var retries: Int
        /// The buyer with the most attempts, and how many.
        public var mostAttemptsBuyerId: Int64?
        public var mostAttempts: Int
        /// Attempts turned away by a write that found too little stock (no rows): the check and the
        /// write were one statement.
        public var turnedAwayByWrite: Int
        public var text: String?
    }

    public var runId: UUID
    public var strategy: StrategyName
    public var isolation: String
    public var attempts: Int
    /// Sessions the attempts ran on.
    public var sessions: Int
    /// Buyers in the trace whose request bought.
    public var buyersWhoBought: Int
    /// Units sold per the database after the run, and beyond the stock.
    public var sold: Int
    public var oversold: Int
    /// Lost updates: buyers who bought after reading a stock another buyer's committed write had
    /// already made stale (each one beyond the first of its group).
    public var lostUpdates: Int
    public var firstCollision: Collision?
    public var lockQueue: LockQueue?
    public var conflicts: Conflicts
    /// The story, line by line.
    public var lines: [String]
}

extension RaceStory {
    /// Tells the story of `trace`.
    public init(_ trace: TraceFile) {
        let analysis = TraceAnalysis(trace)
        runId = trace.run.runId
        strategy = trace.run.strategy
        isolation = trace.run.isolation.rawValue
        attempts = trace.attempts.count
        sessions = Set(trace.attempts.map(\.trace.session)).count
        buyersWhoBought = Set(trace.attempts.filter { $0.outcome == .purchased }.map(\.requestId)).count
        sold = trace.run.sold.values.reduce(0, +)
        oversold = trace.run.oversold
        let collisions = analysis.collisions()
        lostUpdates = collisions.lostUpdates
        firstCollision = collisions.first
        lockQueue = analysis.lockQueue()
        conflicts = analysis.conflicts()

        let run = trace.run
        let span = analysis.spanMs
        var lines = [
            "\(run.strategy.rawValue) at \(run.isolation.rawValue): \(run.buyers) buyers, stock \(run.stock) on \(run.items) item\(run.items == 1 ? "" : "s"), think \(run.thinkMs) ms; "
                + "\(attempts) attempts on \(sessions) database session\(sessions == 1 ? "" : "s") over \(Self.ms(span)) ms."
        ]
        let units = run.stock * run.items
        var outcome = "The database has \(sold) unit\(sold == 1 ? "" : "s") sold of \(units)"
        outcome += oversold > 0 ? ": oversold by \(oversold)." : (sold < units ? ", \(units - sold) left." : ": exactly the stock.")
        if buyersWhoBought * run.quantity != sold {
            outcome += " (The trace has \(buyersWhoBought) buyers who bought: some outcomes arrived without their attempts.)"
        }
        lines.append(outcome)
        if let first = collisions.first {
            lines.append(first.text)
            let others = collisions.lostUpdates - 1
            lines.append(
                others > 0
                    ? "\(collisions.lostUpdates) lost updates in all: each time, a buyer bought with a stock it had read before another buyer's sale from that same stock committed, and wrote over that sale."
                    : "That was the only lost update."
            )
        } else if analysis.hasPlainReads {
            lines.append("No lost update: no two buyers bought after reading the same stock before either one's write committed.")
        }
        if let lockQueue { lines.append(lockQueue.text) }
        let neverWaited = analysis.locksThatNeverWait
        if neverWaited > 0 {
            lines.append(
                "\(neverWaited) attempts locked with NOWAIT or SKIP LOCKED: such a lock never waits; it fails at once (NOWAIT) or passes over rows another buyer holds (SKIP LOCKED)."
            )
        }
        if analysis.itemsServedOneAtATime && analysis.distinctAttempts.count > 1 {
            lines.append("The attempts at each item never overlapped in time: one session at a time served an item, so there was no race to lose.")
        }
        if let text = conflicts.text { lines.append(text) }
        self.lines = lines
    }

    static func ms(_ value: Double) -> String {
        String(format: value < 10 ? "%.2f" : "%.1f", value)
    }

    /// The story as text, one paragraph per line.
    public var text: String { lines.joined(separator: "\n") }
}

/// The facts the story is told from, computed once per trace.
struct TraceAnalysis {
    let trace: TraceFile
    /// The trace's first instant (µs since the epoch): times are told relative to it.
    let origin: UInt64

    init(_ trace: TraceFile) {
        self.trace = trace
        origin = trace.attempts.map(\.trace.startedAt).min() ?? 0
    }

    /// The attempts once each: a batch's transaction is traced once per request it settled.
    var distinctAttempts: [TraceFile.Attempt] {
        var seen: Set<String> = []
        return trace.attempts.filter { seen.insert("\($0.trace.session) \($0.trace.startedAt)").inserted }
    }

    /// Locks taken with `NOWAIT` or `SKIP LOCKED`, which never wait.
    var locksThatNeverWait: Int {
        distinctAttempts.filter { $0.trace.steps.contains { $0.kind == .lock && !$0.waits } }.count
    }

    /// Whether the attempts at each item ran one after another, never overlapping in time.
    var itemsServedOneAtATime: Bool {
        let byItem = Dictionary(grouping: distinctAttempts, by: \.itemId)
        return !byItem.isEmpty
            && byItem.values.allSatisfy { attempts in
                let ordered = attempts.sorted { $0.trace.startedAt < $1.trace.startedAt }
                return zip(ordered, ordered.dropFirst()).allSatisfy { $0.trace.endedAt <= $1.trace.startedAt }
            }
    }

    func ms(_ micro: UInt64) -> Double { Double(Int64(bitPattern: micro &- origin)) / 1000 }

    var spanMs: Double { ms(trace.attempts.map(\.trace.endedAt).max() ?? origin) }

    /// Whether any attempt read the stock without a lock: only those can lose an update by reading.
    var hasPlainReads: Bool { trace.attempts.contains { $0.trace.steps.contains { $0.kind == .read && $0.value != nil } } }

    /// When an attempt's writes became visible: its COMMIT answered, or (a pipeline's implicit
    /// transaction) its last write answered.
    static func committedAt(_ attempt: AttemptTrace) -> UInt64? {
        guard attempt.ending == .purchased else { return nil }
        if let commit = attempt.steps.last(where: { $0.kind == .commit }) { return commit.end }
        return attempt.steps.last(where: { $0.kind == .write || $0.kind == .order })?.end
    }

    /// The read a lost update starts from: the attempt's first unlocked read that returned a value.
    static func plainRead(_ attempt: AttemptTrace) -> TraceStep? {
        attempt.steps.first { $0.kind == .read && $0.value != nil }
    }

    func collisions() -> (lostUpdates: Int, first: RaceStory.Collision?) {
        struct Bought {
            var attempt: TraceFile.Attempt
            var read: TraceStep
            var committed: UInt64
        }
        var groups: [String: [Bought]] = [:]
        for attempt in trace.attempts {
            guard let read = Self.plainRead(attempt.trace), let value = read.value, let committed = Self.committedAt(attempt.trace) else { continue }
            groups["\(attempt.itemId) \(value)", default: []].append(Bought(attempt: attempt, read: read, committed: committed))
        }
        var lostUpdates = 0
        // The collision whose second commit came first: the first oversell (or lost update) of the run.
        var first: (late: Bought, early: Bought)?
        for group in groups.values {
            let ordered = group.sorted { $0.committed < $1.committed }
            for (index, late) in ordered.enumerated() where index > 0 {
                // An earlier buyer of the group committed after this one read: this one read a stock
                // that was about to go stale, and its write overwrote (or was overwritten by) that one's.
                guard let early = ordered[..<index].first(where: { late.read.end < $0.committed }) else { continue }
                lostUpdates += 1
                if first == nil || late.committed < first!.late.committed { first = (late, early) }
            }
        }
        guard let first else { return (lostUpdates, nil) }
        return (lostUpdates, collision(first.early, first.late, all: groups.values.first { $0.contains { $0.attempt == first.late.attempt } } ?? []))

        func collision(_ early: Bought, _ late: Bought, all: [Bought]) -> RaceStory.Collision {
            let pair = [early, late].sorted { $0.read.end < $1.read.end }
            var moments: [RaceStory.Moment] = []
            for bought in pair {
                moments.append(moment(bought.attempt, bought.read))
            }
            for bought in pair.sorted(by: { $0.committed < $1.committed }) {
                let write = bought.attempt.trace.steps.first { $0.kind == .write } ?? bought.attempt.trace.steps.last { $0.kind == .order }
                if let write { moments.append(moment(bought.attempt, write)) }
            }
            let value = early.read.value ?? "?"
            let writes = pair.compactMap { $0.attempt.trace.steps.first { $0.kind == .write }?.value }
            let written = writes.count == 2 && writes[0] == writes[1] ? writes[0] : nil
            let together = all.filter { bought in
                all.contains { $0.attempt != bought.attempt && bought.read.end < $0.committed && $0.read.end < bought.committed }
            }
            var text = "First lost update, item \(early.attempt.itemId): "
            text += moments.map { moment in
                let what =
                    moment.kind == "read" ? "read stock \(moment.value ?? "?")" : (moment.value.map { "wrote stock \($0)" } ?? "wrote its order")
                return "buyer \(moment.buyerId) on session \(moment.session) \(what) at +\(RaceStory.ms(moment.atMs)) ms"
            }.joined(separator: "; ")
            let quantity = trace.run.quantity
            if let number = Int(value), number < 2 * quantity {
                text += number == quantity ? ": both bought the last unit." : ": both bought from a stock of \(number)."
            } else {
                text +=
                    written.map { ": both wrote \($0), so one of the two sales vanished from the stock." }
                    ?? ": one of the two sales vanished from the stock."
            }
            if together.count > 2 { text += " \(together.count - 2) more buyers read the same \(value) and bought alongside them." }
            return RaceStory.Collision(
                itemId: early.attempt.itemId,
                stockRead: value,
                written: written,
                buyerIds: pair.sorted { $0.committed < $1.committed }.map(\.attempt.buyerId),
                requestIds: pair.sorted { $0.committed < $1.committed }.map(\.attempt.requestId),
                moments: moments,
                text: text
            )
        }

        func moment(_ attempt: TraceFile.Attempt, _ step: TraceStep) -> RaceStory.Moment {
            RaceStory.Moment(
                buyerId: attempt.buyerId,
                session: attempt.trace.session,
                kind: step.kind.rawValue,
                atMs: ms(step.kind == .read ? step.end : step.end),
                value: step.value
            )
        }
    }

    /// A granted lock: who asked, when, when it came, and when its holder let it go.
    struct Grant {
        var attempt: TraceFile.Attempt
        var requested: UInt64
        var granted: UInt64
        /// When the holder's COMMIT or ROLLBACK went out (the attempt's end when it has none).
        var released: UInt64
    }

    /// Every lock that was waited for and granted, by item, in grant order.
    func grants() -> [Int64: [Grant]] {
        var byItem: [Int64: [Grant]] = [:]
        for attempt in distinctAttempts {
            guard let lock = attempt.trace.steps.first(where: { $0.waits && $0.sqlState == nil }) else { continue }
            let end = attempt.trace.steps.last { ($0.kind == .commit || $0.kind == .rollback) && $0.at >= lock.end }
            byItem[attempt.itemId, default: []].append(
                Grant(attempt: attempt, requested: lock.at, granted: lock.end, released: end?.at ?? attempt.trace.endedAt)
            )
        }
        return byItem.mapValues { $0.sorted { $0.granted < $1.granted } }
    }

    func lockQueue() -> RaceStory.LockQueue? {
        let byItem = grants()
        let all = byItem.values.flatMap { $0 }
        guard !all.isEmpty else { return nil }
        // The queue: requests outstanding on one item, swept over time.
        var longest = (count: 0, at: origin)
        for grants in byItem.values {
            let events = grants.flatMap { [($0.requested, 1), ($0.granted, -1)] }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            var waiting = 0
            for (time, change) in events {
                waiting += change
                if waiting > longest.count { longest = (waiting, time) }
            }
        }
        let waits = all.map { Double($0.granted - min($0.granted, $0.requested)) / 1000 }
        let slowest = all.max { ($0.granted - min($0.granted, $0.requested)) < ($1.granted - min($1.granted, $1.requested)) }!
        var handOffs = 0
        var overlaps = 0
        var gaps: [Double] = []
        for grants in byItem.values {
            for (previous, next) in zip(grants, grants.dropFirst()) {
                // Only a request that was already waiting when the holder let go is a hand-off.
                guard next.requested < previous.released else { continue }
                if next.granted >= previous.released {
                    handOffs += 1
                    gaps.append(Double(next.granted - previous.released) / 1000)
                } else {
                    overlaps += 1
                }
            }
        }
        let slowestWait = Double(slowest.granted - min(slowest.granted, slowest.requested)) / 1000
        let median = Statistics.median(waits)
        let handOff = gaps.isEmpty ? nil : Statistics.median(gaps)
        var text: String
        if longest.count <= 1 || slowestWait < 1 {
            text = "Locks: \(all.count) granted, none waited for (longest wait \(RaceStory.ms(slowestWait)) ms, buyer \(slowest.attempt.buyerId))."
        } else {
            text = "Lock queue: up to \(longest.count) buyers waited for the lock on one item at once (at +\(RaceStory.ms(ms(longest.at))) ms); "
            text +=
                "buyer \(slowest.attempt.buyerId) waited longest, \(RaceStory.ms(slowestWait)) ms on session \(slowest.attempt.trace.session); median wait \(RaceStory.ms(median)) ms."
            if handOffs > 0 {
                text += " Each of the \(handOffs) hand-offs came after the previous holder's COMMIT or ROLLBACK went out"
                text += handOff.map { " (median \(RaceStory.ms($0)) ms after it)" } ?? ""
                text += overlaps > 0 ? "; \(overlaps) did not." : "."
            }
        }
        return RaceStory.LockQueue(
            grants: all.count,
            longest: longest.count,
            longestAtMs: ms(longest.at),
            longestWaitBuyerId: slowest.attempt.buyerId,
            longestWaitSession: slowest.attempt.trace.session,
            longestWaitMs: slowestWait,
            medianWaitMs: median,
            handOffs: handOffs,
            overlaps: overlaps,
            medianHandOffMs: handOff,
            text: text
        )
    }

    func conflicts() -> RaceStory.Conflicts {
        let attempts = trace.attempts
        let conflicts = attempts.filter { $0.trace.ending == .conflict }.count
        let serialization = attempts.filter { $0.trace.ending == .aborted && $0.trace.sqlState == "40001" }.count
        let deadlocks = attempts.filter { $0.trace.ending == .aborted && $0.trace.sqlState == "40P01" }.count
        let notAvailable = attempts.filter { $0.trace.ending == .lockNotAvailable }.count
        let retries = attempts.filter { $0.trace.attempt > 1 }.count
        let most = attempts.max { $0.trace.attempt < $1.trace.attempt }
        let byWrite = attempts.filter { attempt in
            attempt.trace.ending == .soldOut
                && attempt.trace.steps.first { $0.kind != .begin && $0.kind != .think }.map { $0.kind == .write && $0.rows == 0 } == true
        }.count
        var parts: [String] = []
        if conflicts > 0 { parts.append("\(conflicts) attempts lost a race they could see (a version that moved, a unit taken) and started over") }
        if serialization > 0 { parts.append("\(serialization) transactions were aborted by the server as serialization failures (40001)") }
        if deadlocks > 0 { parts.append("\(deadlocks) were aborted as deadlocks (40P01)") }
        if notAvailable > 0 { parts.append("\(notAvailable) found the lock taken (NOWAIT, 55P03) and backed off") }
        var text: String?
        if !parts.isEmpty {
            text = "Conflicts instead of lost updates: " + parts.joined(separator: "; ") + "."
            if let most, most.trace.attempt > 1 {
                text! += " \(retries) retries in all; buyer \(most.buyerId) needed \(most.trace.attempt) attempts."
            }
        }
        if byWrite > 0 {
            let line =
                "\(byWrite) buyers were turned away by the write itself (it found too little stock and changed no row): the check and the write are one statement, so there was no window to lose an update in."
            text = text.map { $0 + " " + line } ?? line
        }
        return RaceStory.Conflicts(
            conflicts: conflicts,
            serializationFailures: serialization,
            deadlocks: deadlocks,
            lockNotAvailable: notAvailable,
            retries: retries,
            mostAttemptsBuyerId: (most?.trace.attempt ?? 0) > 1 ? most?.buyerId : nil,
            mostAttempts: most?.trace.attempt ?? 0,
            turnedAwayByWrite: byWrite,
            text: text
        )
    }
}
