import Foundation
import Postgres
import RaceLabCore
import Synchronization

/// Records a traced request's attempts step by step, from the round trips its connection makes and
/// the think pauses its strategy takes. One per traced request, on the worker thread that settles it.
final class AttemptTracer: RoundTripObserver {
    private let session: Int
    private let batch: Int?
    private let runId: UUID
    private(set) var attempts: [AttemptTrace] = []
    /// The open attempt's round trips and pauses, kept raw: they are turned into steps when it ends,
    /// after its transaction, so a lock is never held longer for the tracing.
    private var open: (number: Int, startedAt: UInt64, events: [Event])?

    private enum Event {
        case roundTrip(RoundTrip)
        case think(from: UInt64, to: UInt64)
    }

    init(session: Int, runId: UUID, batch: Int? = nil) {
        self.session = session
        self.runId = runId
        self.batch = batch
    }

    func begin(attempt number: Int) {
        open = (number, Self.micro(RoundTrip.now()), [])
    }

    func end(_ ending: AttemptTrace.Ending, sqlState: String? = nil) {
        guard let current = open else { return }
        let endedAt = Self.micro(RoundTrip.now())
        open = nil
        var steps: [TraceStep] = []
        for event in current.events {
            switch event {
            case .think(let from, let to):
                steps.append(TraceStep(kind: .think, at: Self.micro(from), end: Self.micro(to)))
            case .roundTrip(let roundTrip):
                // The server answers a pipeline's statements together, at its sync: each one is known only
                // to have run between the round trip's start and its own answer.
                for statement in roundTrip.statements { steps.append(step(statement, sentAt: roundTrip.sentAt)) }
            }
        }
        attempts.append(
            AttemptTrace(
                attempt: current.number,
                session: session,
                startedAt: current.startedAt,
                endedAt: endedAt,
                ending: ending,
                sqlState: sqlState,
                batch: batch,
                steps: steps
            )
        )
    }

    func observe(_ roundTrip: RoundTrip) {
        guard open != nil else { return }  // the lookups around the attempts are not part of them
        open?.events.append(.roundTrip(roundTrip))
    }

    /// The strategy held the thread for the request's think time.
    func thought(from start: UInt64, to end: UInt64) {
        open?.events.append(.think(from: start, to: end))
    }

    func step(_ statement: RoundTrip.Statement, sentAt: UInt64) -> TraceStep {
        let known = StatementCatalog.shared.describe(statement, run: runId)
        var step = TraceStep(
            kind: known.kind,
            at: Self.micro(sentAt),
            end: Self.micro(statement.answeredAt),
            statement: statement.name,
            neverWaits: known.neverWaits ? true : nil,
            sql: known.firstInRun || statement.name == nil ? statement.sql : nil,
            sqlState: statement.sqlState
        )
        guard known.kind != .begin && known.kind != .commit && known.kind != .rollback else {
            step.statement = nil
            step.sql = nil
            return step
        }
        guard let result = statement.result else { return step }
        step.rows = result.rows.isEmpty ? result.affectedRows : result.rows.count
        if let first = result.rows.first, let column = result.columns.first {
            step.column = column
            step.value = first.first ?? nil
        } else if known.kind == .write, let set = known.assigned, set.index < statement.parameters.count {
            step.column = set.column
            step.value = statement.parameters[set.index]
        }
        return step
    }

    /// `SET column = $n` in a write: the column and the parameter's index (from 0); nil when the
    /// statement sets no column straight from a parameter.
    static func assignedParameter(_ sql: String) -> (column: String, index: Int)? {
        guard let set = sql.range(of: " SET ", options: .caseInsensitive) else { return nil }
        var assignment = sql[set.upperBound...].prefix { $0 != "," && $0 != "\n" }
        if let clause = assignment.range(of: " WHERE ", options: .caseInsensitive) { assignment = assignment[..<clause.lowerBound] }
        let parts = assignment.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts[1].hasPrefix("$"), let number = Int(parts[1].dropFirst()), number >= 1 else { return nil }
        return (parts[0], number - 1)
    }

    static func micro(_ nanoseconds: UInt64) -> UInt64 { nanoseconds / 1000 }
}

/// What the tracer knows of each prepared statement, told once per process from its SQL: its kind,
/// whether its lock never waits, which parameter a write sets. It also remembers which statements'
/// SQL a run's traces have carried already, so each goes over the wire once per run and process.
final class StatementCatalog: Sendable {
    static let shared = StatementCatalog()

    struct Description: Sendable {
        var kind: TraceStep.Kind
        var neverWaits: Bool
        var assigned: (column: String, index: Int)?
        /// Whether this is the first time the statement is traced in this run by this process.
        var firstInRun = false
    }

    private struct State {
        var known: [String: Description] = [:]
        var sent: Set<String> = []
    }

    private let state = Mutex(State())

    func describe(_ statement: RoundTrip.Statement, run: UUID) -> Description {
        guard let name = statement.name else { return Self.describe(sql: statement.sql) }
        return state.withLock { state in
            var description = state.known[name] ?? Self.describe(sql: statement.sql)
            state.known[name] = description
            // A name is reused only for the same SQL (a strategy file's statements are named by their version).
            description.firstInRun = state.sent.insert("\(run.uuidString) \(name)").inserted
            if state.sent.count > 100_000 { state.sent.removeAll() }
            return description
        }
    }

    static func describe(sql: String) -> Description {
        let kind = TraceStep.Kind.of(sql: sql)
        return Description(
            kind: kind,
            neverWaits: kind == .lock && TraceStep.Kind.neverWaits(sql: sql),
            assigned: kind == .write ? AttemptTracer.assignedParameter(sql) : nil
        )
    }
}

extension AttemptTrace.Ending {
    init(_ attempt: PurchaseAttempt) {
        switch attempt {
        case .purchased: self = .purchased
        case .soldOut: self = .soldOut
        case .conflict: self = .conflict
        case .noSuchItem: self = .noSuchItem
        }
    }

    init(_ failure: PurchaseExecutor.FailureClass) {
        switch failure {
        case .aborted: self = .aborted
        case .lockNotAvailable: self = .lockNotAvailable
        case .alreadyPurchased: self = .alreadyPurchased
        case .connectionLost: self = .connectionLost
        case .failed: self = .failed
        }
    }
}

/// Holds the worker thread for the request's think time: the window between read and write. A traced
/// request's tracer (the connection's observer) records the pause.
func think(_ request: PurchaseRequest, on db: PostgresConnection) {
    guard request.thinkMs > 0 else { return }
    let start = RoundTrip.now()
    usleep(UInt32(min(request.thinkMs, 60_000)) * 1000)
    (db.observer as? AttemptTracer)?.thought(from: start, to: RoundTrip.now())
}
