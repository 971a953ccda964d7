import Foundation
import RaceLabCore

/// Collects a traced run's attempts as the outcomes arrive (`racelab run --trace`): the requests go out
/// with `trace: true`, each outcome comes back with its attempts step by step.
///
/// Kept in memory during the run and turned into a ``TraceFile`` at the end; used from the harness
/// thread only.
public final class RunTrace {
    private var buyers: [UUID: Int64] = [:]
    private(set) var attempts: [TraceFile.Attempt] = []
    /// The SQL of each statement, as the first trace that carried it gave it.
    private(set) var statements: [String: String] = [:]

    public init() {}

    func invoked(_ request: PurchaseRequest) {
        buyers[request.requestId] = request.buyerId
    }

    func completed(_ outcome: OutcomeMessage) {
        guard let buyer = buyers[outcome.requestId], let trace = outcome.trace else { return }
        for attempt in trace {
            for step in attempt.steps {
                if let name = step.statement, let sql = step.sql, statements[name] == nil { statements[name] = sql }
            }
        }
        attempts += TraceFile.Attempt.lines(of: outcome, buyerId: buyer)
    }

    /// The trace of the run `report` describes.
    public func file(for report: RunReport) -> TraceFile {
        TraceFile(
            run: TraceFile.Run(
                runId: report.runId,
                strategy: report.strategy,
                isolation: report.isolation,
                buyers: report.buyers,
                items: report.items,
                stock: report.stock,
                quantity: report.quantity,
                workers: report.workers,
                consumersPerWorker: report.consumersPerWorker,
                thinkMs: report.thinkMs,
                sold: Dictionary(uniqueKeysWithValues: report.perItem.map { (String($0.itemId), $0.sold) }),
                oversold: report.oversold,
                statements: statements
            ),
            // Each step with its SQL, so each line of the file reads on its own.
            attempts: attempts.map { attempt in
                var attempt = attempt
                for index in attempt.trace.steps.indices where attempt.trace.steps[index].sql == nil {
                    attempt.trace.steps[index].sql = attempt.trace.steps[index].statement.flatMap { statements[$0] }
                }
                return attempt
            }
        )
    }
}
