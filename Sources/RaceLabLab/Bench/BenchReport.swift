import Foundation
import RaceLabCore
import RaceLabPipeline

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
        /// pgbench on the strategy's own SQL, in the strategy's round trips.
        public var pgbench: Pgbench.Result
        /// pgbench, the pessimistic statements in one pipelined round trip (no branch): the server's
        /// ceiling for one purchase per transaction. Measured for `pessimistic` only.
        public var pgbenchPipelined: Pgbench.Result?
        /// pipelinePerSec / pgbench's purchases per second.
        public var ratio: Double
        /// CPU seconds of the harness and the local workers during the pipeline stampede.
        public var ownCPUSec: Double
        /// CPU seconds the whole machine was busy meanwhile (PostgreSQL, RabbitMQ, everything).
        public var machineCPUSec: Double
        /// ownCPUSec / machineCPUSec, nil when the machine's counters are unavailable.
        public var ownCPUShare: Double?
        public var oversold: Int
        /// Units left while buyers were turned away (the bench's stock never runs out, so a turned-away
        /// buyer means one that gave up).
        public var undersold: Int
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
            ratio = pgbench.purchasesPerSec > 0 ? report.throughputPerSec / pgbench.purchasesPerSec : 0
            ownCPUSec = cpu.own
            machineCPUSec = cpu.machine
            ownCPUShare = cpu.share
            oversold = report.oversold
            undersold = report.undersold
            violations = report.violations
        }
    }

    public var strategy: StrategyName
    public var buyers: Int
    public var workers: Int
    public var consumersPerWorker: Int
    /// Database sessions on the hot row: workers × consumers (one for a strategy that serves an item from
    /// one consumer at a time), and pgbench's client count.
    public var sessions: Int
    /// Where pgbench's script has to differ from the strategy's SQL, in words; nil when it runs it as is.
    public var pgbenchNote: String?
    public var rounds: [Round]
    /// Median of the rounds' ratios.
    public var medianRatio: Double
    /// Peak resident memory of the harness process over the whole bench, in MiB.
    public var harnessPeakMiB: Double

    public init(
        strategy: StrategyName,
        buyers: Int,
        workers: Int,
        consumersPerWorker: Int,
        sessions: Int? = nil,
        pgbenchNote: String? = nil,
        rounds: [Round],
        harnessPeakBytes: Int
    ) {
        self.strategy = strategy
        self.buyers = buyers
        self.workers = workers
        self.consumersPerWorker = consumersPerWorker
        self.sessions = sessions ?? workers * consumersPerWorker
        self.pgbenchNote = pgbenchNote
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
                String(round.undersold),
                round.violations.isEmpty ? "ok" : "\(round.violations.count) broken",
            ]
        }
        let perTransaction = rounds.first?.pgbench.purchasesPerTransaction ?? 1
        let table = TextTable.figures(
            header: [
                "round", "pipeline req/s", perTransaction > 1 ? "pgbench purchases/s" : "pgbench tx/s", "ratio", "pgbench pipelined tx/s",
                "p99 ms", "own CPU", "undersold", "invariants",
            ],
            rows: rows
        )
        var lines = [
            "\(strategy.rawValue), \(buyers) buyers on one hot item that never sells out; \(workers) workers × \(consumersPerWorker) consumers "
                + (sessions == workers * consumersPerWorker ? "= \(sessions) sessions" : "(\(sessions) serving the item at a time)")
                + "; pgbench -c \(sessions) -M prepared on \(strategy.rawValue)'s own SQL in its round trips"
        ]
        if let pgbenchNote { lines.append("(\(pgbenchNote))") }
        lines.append("")
        lines += table.lines()
        lines.append("")
        lines.append(String(format: "median ratio pipeline / pgbench: %.2f; harness peak memory %.0f MiB", medianRatio, harnessPeakMiB))
        lines.append("own CPU = harness + local workers as a share of the machine's busy CPU during the pipeline stampede")
        return lines.joined(separator: "\n")
    }

    /// One row per strategy: the medians of its rounds (`racelab bench --strategy all`).
    public static func renderSummary(_ reports: [BenchReport]) -> String {
        let rows = reports.map { report -> [String] in
            let rounds = report.rounds
            return [
                report.strategy.rawValue,
                String(report.sessions),
                String(format: "%.0f", Statistics.median(rounds.map(\.pipelinePerSec))),
                String(format: "%.0f", Statistics.median(rounds.map(\.pgbench.purchasesPerSec))),
                String(format: "%.2f", report.medianRatio),
                String(format: "%.0f", Statistics.median(rounds.map(\.pipelineP99Ms))),
                String(rounds.map(\.undersold).max() ?? 0),
                rounds.allSatisfy(\.violations.isEmpty) ? "ok" : "broken",
            ]
        }
        let table = TextTable.figures(
            header: ["strategy", "sessions", "pipeline req/s", "pgbench purchases/s", "ratio", "p99 ms", "undersold", "invariants"],
            rows: rows
        )
        return (table.lines() + ["", "medians over the rounds; pgbench runs each strategy's own SQL in its round trips (notes above)"])
            .joined(separator: "\n")
    }
}
