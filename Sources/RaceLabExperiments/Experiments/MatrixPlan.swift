import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// The stampedes a matrix run fires, in order: every cell of an ``ExperimentSpec`` once per repetition.
///
/// Runs are grouped by worker pool (workers × consumers, as ``ExperimentSpec/cells`` orders them), so a
/// pool of local workers serves every run that needs it before the next one starts. Within a group the
/// repetitions take turns (all cells of repetition 1, then of repetition 2…), which spreads slow drift
/// of the machine over the repetitions instead of onto one cell; within a repetition, the strategies
/// meet the same stampede back to back.
public struct MatrixPlan: Sendable, Equatable {
    /// One stampede of the plan.
    public struct Run: Sendable, Equatable {
        public var cell: MatrixCell
        /// 1-based.
        public var repetition: Int
        /// The spec's seed + repetition − 1: the same for every strategy within a repetition.
        public var seed: UInt64

        public init(cell: MatrixCell, repetition: Int, seed: UInt64) {
            self.cell = cell
            self.repetition = repetition
            self.seed = seed
        }

        /// What `StampedeRunner.run` takes for this run.
        public func configuration(idleTimeoutSeconds: Double = 30) -> StampedeConfiguration {
            StampedeConfiguration(
                buyers: cell.buyers,
                stock: cell.stock,
                items: cell.items,
                workers: cell.workers,
                consumersPerWorker: cell.consumers,
                thinkMs: cell.thinkMs,
                seed: seed,
                idleTimeoutSeconds: idleTimeoutSeconds,
                isolation: cell.isolation
            )
        }

        /// `[rep 2] pessimistic b=100 s=1 i=1 w=4 c=4 t=5`.
        public var label: String { "\(cell.label) rep \(repetition)" }
    }

    public let runs: [Run]

    public init(spec: ExperimentSpec) {
        var runs: [Run] = []
        runs.reserveCapacity(spec.runCount)
        var cells = spec.cells[...]
        while let first = cells.first {
            let group = cells.prefix { $0.workers == first.workers && $0.consumers == first.consumers }
            cells = cells.dropFirst(group.count)
            for repetition in 1...max(spec.repetitions, 1) {
                for cell in group { runs.append(Run(cell: cell, repetition: repetition, seed: spec.seed(repetition: repetition))) }
            }
        }
        self.runs = runs
    }
}
