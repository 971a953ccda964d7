import Foundation
import Postgres
import RaceLabCore

/// Records a traced request's attempts step by step, from the round trips its connection makes and
/// the think pauses its strategy takes. One per traced request, on the worker thread that settles it.
final class AttemptTracer: RoundTripObserver {
    private let session: Int
    private let batch: Int?
    private(set) var attempts: [AttemptTrace] = []
    private var open: (number: Int, startedAt: UInt64, steps: [TraceStep])?

    init(session: Int, batch: Int? = nil) {
        self.session = session
        self.batch = batch
    }

    func begin(attempt number: Int) {
        open = (number, Self.micro(RoundTrip.now()), [])
    }

    func end(_ ending: AttemptTrace.Ending, sqlState: String? = nil) {
        guard let current = open else { return }
        open = nil
        attempts.append(
            AttemptTrace(
                attempt: current.number,
                session: session,
                startedAt: current.startedAt,
                endedAt: Self.micro(RoundTrip.now()),
                ending: ending,
                sqlState: sqlState,
                batch: batch,
                steps: current.steps
            )
        )
    }

    func observe(_ roundTrip: RoundTrip) {
        guard open != nil else { return }  // the lookups around the attempts are not part of them
        // The server answers a pipeline's statements together, at its sync: each one is known only to
        // have run between the round trip's start and its own answer.
        for statement in roundTrip.statements {
            open?.steps.append(Self.step(statement, sentAt: roundTrip.sentAt))
        }
    }

    /// The strategy held the thread for the request's think time.
    func thought(from start: UInt64, to end: UInt64) {
        open?.steps.append(TraceStep(kind: .think, at: Self.micro(start), end: Self.micro(end)))
    }

    static func step(_ statement: RoundTrip.Statement, sentAt: UInt64) -> TraceStep {
        let kind = TraceStep.Kind.of(sql: statement.sql)
        var step = TraceStep(kind: kind, at: micro(sentAt), end: micro(statement.answeredAt), sqlState: statement.sqlState)
        guard kind != .begin && kind != .commit && kind != .rollback else { return step }
        step.sql = statement.sql
        guard let result = statement.result else { return step }
        step.rows = result.rows.isEmpty ? result.affectedRows : result.rows.count
        if let first = result.rows.first, let column = result.columns.first {
            step.column = column
            step.value = first.first ?? nil
        } else if kind == .write, let set = assignedParameter(statement.sql), set.index < statement.parameters.count {
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
