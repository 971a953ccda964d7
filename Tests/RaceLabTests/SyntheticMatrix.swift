import Foundation

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// Matrix runs made up in memory, shaped like real ones, for the report and comparison tests.
enum SyntheticMatrix {
    static let environment = RunEnvironment(
        postgresVersion: "PostgreSQL 15.8",
        rabbitmqVersion: "RabbitMQ 3.10.8",
        racelabVersion: "0.4.0",
        hostname: "lab-host",
        cpuCount: 2,
        memoryBytes: 4_294_967_296,
        operatingSystem: "Debian GNU/Linux 12"
    )

    /// One stampede's report with the given figures (latency percentiles derived from p99).
    static func report(cell: MatrixCell, seed: UInt64 = 42, throughput: Double, p99: Double, oversold: Int = 0) -> RunReport {
        let stock = cell.stock * cell.items
        let sold = min(cell.buyers, stock + oversold)
        var outcomes = OutcomeCounts()
        outcomes.purchased = sold
        outcomes.soldOut = cell.buyers - sold
        var report = RunReport(
            strategy: cell.strategy,
            runId: UUID(),
            configuration: StampedeConfiguration(
                buyers: cell.buyers,
                stock: cell.stock,
                items: cell.items,
                workers: cell.workers,
                consumersPerWorker: cell.consumers,
                thinkMs: cell.thinkMs,
                seed: seed
            ),
            observation: RunObservation(
                items: [.init(itemId: 1, initialStock: stock, finalStock: 0, sold: sold, orders: sold)],
                duplicateRequestIds: []
            ),
            outcomes: outcomes,
            retries: 0,
            latencyMs: LatencySummary(p50: p99 * 0.5, p90: p99 * 0.85, p99: p99, max: p99 * 1.08),
            durationSec: Double(cell.buyers) / throughput,
            violations: oversold > 0 ? ["item 1: sold \(sold) of a stock of \(stock) (oversold by \(oversold))"] : [],
            latencyCurve: LatencySummary.curvePercentiles.map { percentile in
                let fraction = percentile >= 100 ? 1.08 : 0.05 + 0.95 * pow(percentile / 99, 1.6)
                return LatencyPoint(percentile: percentile, milliseconds: (p99 * min(fraction, 1.08) * 1000).rounded() / 1000)
            }
        )
        report.throughputPerSec = throughput
        return report
    }

    /// A contention matrix: every strategy × workers 1, 2, 4, 8 (4 consumers each), 100 buyers for 1 item,
    /// `repetitions` each, figures with ±`noise` relative jitter from a seeded generator.
    static func contention(
        id: Int64 = 1,
        name: String = "contention",
        thinkMs: Int = 5,
        repetitions: Int = 3,
        noise: Double = 0.03,
        seed: UInt64 = 7
    ) -> MatrixRunRecord {
        var generator = SplitMix64(seed: seed)
        func jitter(_ value: Double) -> Double { value * (1 + Double.random(in: -noise...noise, using: &generator)) }
        var entries: [MatrixRunEntry] = []
        for strategy in StrategyName.builtIn {
            for workers in [1, 2, 4, 8] {
                let cell = MatrixCell(strategy: strategy, buyers: 100, stock: 1, items: 1, workers: workers, consumers: 4, thinkMs: thinkMs)
                let sessions = Double(workers * 4)
                let base: Double =
                    switch strategy {
                    case .naive: 1500 + 40 * sessions
                    case .pessimistic: 1000 - 15 * sessions
                    case .optimistic: 3500 - 30 * sessions
                    case .advisory: 1900 - 20 * sessions
                    case .batched: 9000 - 10 * sessions
                    default: 1200 - 10 * sessions
                    }
                let thinkFactor = 1 / (1 + Double(thinkMs) / 10)
                for repetition in 1...repetitions {
                    let throughput = jitter(base * thinkFactor)
                    let p99 = jitter(Double(cell.buyers) / throughput * 1000 * 0.98)
                    let oversold = strategy == .naive ? max(0, Int(jitter(sessions * 0.9))) : 0
                    entries.append(
                        MatrixRunEntry(
                            cell: cell,
                            repetition: repetition,
                            report: report(cell: cell, seed: 42 + UInt64(repetition), throughput: throughput, p99: p99, oversold: oversold)
                        )
                    )
                }
            }
        }
        return MatrixRunRecord(
            id: id,
            name: name,
            specText: "name: \(name)\nstrategies: [naive, pessimistic, optimistic, advisory]\nbuyers: 100\nstock: 1\nworkers: [1, 2, 4, 8]\n"
                + "consumers: 4\nthinkMs: \(thinkMs)\nrepetitions: \(repetitions)\n",
            quick: false,
            startedAt: Date(timeIntervalSince1970: 1_760_000_000),
            finishedAt: Date(timeIntervalSince1970: 1_760_000_095),
            environment: environment,
            entries: entries
        )
    }
}
