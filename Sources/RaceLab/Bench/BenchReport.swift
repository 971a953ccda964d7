import Foundation

/// `racelab bench`: the pipeline and pgbench on the same hot-row stampede, side by side, repeated.
///
/// The stable JSON of `racelab bench --format json`; add fields, never rename them.
public struct BenchReport: Sendable, Codable, Equatable {
    /// One repetition: a pipeline stampede, then pgbench on the same transaction and concurrency.
    public struct Round: Sendable, Codable, Equatable {
        public var round: Int
        /// Purchases settled per second by the pipeline (gate open → last outcome).
        public var pipelinePerSec: Double
        public var pipelineP50Ms: Double
        public var pipelineP99Ms: Double
        /// pgbench, the strategy's transaction statement by statement.
        public var pgbench: Pgbench.Result
        /// pgbench, the same statements in one pipelined round trip (no branch): the server's ceiling.
        public var pgbenchPipelined: Pgbench.Result?
        /// pipelinePerSec / pgbench.transactionsPerSec.
        public var ratio: Double
        /// CPU seconds of the harness and the local workers during the pipeline stampede.
        public var ownCPUSec: Double
        /// CPU seconds the whole machine was busy meanwhile (PostgreSQL, RabbitMQ, everything).
        public var machineCPUSec: Double
        /// ownCPUSec / machineCPUSec, nil when the machine's counters are unavailable.
        public var ownCPUShare: Double?
        public var oversold: Int
        public var violations: [String]

        public init(
            round: Int,
            report: RunReport,
            pgbench: Pgbench.Result,
            pgbenchPipelined: Pgbench.Result?,
            cpu: (own: Double, machine: Double, share: Double?)
        ) {
            self.round = round
            pipelinePerSec = report.throughputPerSec
            pipelineP50Ms = report.latencyMs.p50
            pipelineP99Ms = report.latencyMs.p99
            self.pgbench = pgbench
            self.pgbenchPipelined = pgbenchPipelined
            ratio = pgbench.transactionsPerSec > 0 ? report.throughputPerSec / pgbench.transactionsPerSec : 0
            ownCPUSec = cpu.own
            machineCPUSec = cpu.machine
            ownCPUShare = cpu.share
            oversold = report.oversold
            violations = report.violations
        }
    }

    public var strategy: StrategyName
    public var buyers: Int
    public var workers: Int
    public var consumersPerWorker: Int
    /// Database sessions on the hot row: workers × consumers, and pgbench's client count.
    public var sessions: Int
    public var rounds: [Round]
    /// Median of the rounds' ratios.
    public var medianRatio: Double
    /// Peak resident memory of the harness process over the whole bench, in MiB.
    public var harnessPeakMiB: Double

    public init(strategy: StrategyName, buyers: Int, workers: Int, consumersPerWorker: Int, rounds: [Round], harnessPeakBytes: Int) {
        self.strategy = strategy
        self.buyers = buyers
        self.workers = workers
        self.consumersPerWorker = consumersPerWorker
        sessions = workers * consumersPerWorker
        self.rounds = rounds
        medianRatio = Statistics.median(rounds.map(\.ratio))
        harnessPeakMiB = Double(harnessPeakBytes) / 1_048_576
    }

    /// The table `racelab bench` prints.
    public func render() -> String {
        let rows = rounds.map { round in
            [
                String(round.round),
                String(format: "%.0f", round.pipelinePerSec),
                String(format: "%.0f", round.pgbench.transactionsPerSec),
                String(format: "%.2f", round.ratio),
                round.pgbenchPipelined.map { String(format: "%.0f", $0.transactionsPerSec) } ?? "-",
                String(format: "%.0f", round.pipelineP99Ms),
                round.ownCPUShare.map { String(format: "%.0f %%", $0 * 100) } ?? "-",
                round.violations.isEmpty ? "ok" : "\(round.violations.count) broken",
            ]
        }
        let table = TextTable.figures(
            header: ["round", "pipeline req/s", "pgbench tx/s", "ratio", "pgbench pipelined tx/s", "p99 ms", "own CPU", "invariants"],
            rows: rows
        )
        var lines = [
            "\(strategy.rawValue), \(buyers) buyers on one hot item that never sells out; \(workers) workers × \(consumersPerWorker) consumers "
                + "= \(sessions) sessions; pgbench -c \(sessions) -M prepared on the pessimistic transaction",
            "",
        ]
        lines += table.lines()
        lines.append("")
        lines.append(String(format: "median ratio pipeline / pgbench: %.2f; harness peak memory %.0f MiB", medianRatio, harnessPeakMiB))
        lines.append("own CPU = harness + local workers as a share of the machine's busy CPU during the pipeline stampede")
        return lines.joined(separator: "\n")
    }
}
