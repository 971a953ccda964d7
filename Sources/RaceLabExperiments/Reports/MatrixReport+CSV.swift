import RaceLabCore
import RaceLabLab
import RaceLabPipeline

extension MatrixReport {
    /// The columns of `runs.csv`, in order.
    static let csvHeader = [
        "matrixRunId", "name", "strategy", "buyers", "stock", "items", "workers", "consumers", "thinkMs", "repetition", "seed",
        "sold", "oversold", "finalStock", "purchased", "soldOut", "gaveUp", "failed", "deadLettered", "indeterminate", "retries",
        "p50Ms", "p90Ms", "p99Ms", "maxMs", "throughputPerSec", "durationSec", "violations", "isolation", "undersold", "aborts",
    ]

    /// `runs.csv`: a header row, then one row per stampede in cell and repetition order.
    public func csv() -> String {
        var writer = CSVWriter()
        writer.append(Self.csvHeader)
        let entries = record.entries.sorted { ($0.cell, $0.repetition) < ($1.cell, $1.repetition) }
        for entry in entries {
            let r = entry.report
            let c = entry.cell
            writer.append(
                [
                    "\(record.id)", record.name, c.strategy.rawValue, "\(c.buyers)", "\(c.stock)", "\(c.items)", "\(c.workers)",
                    "\(c.consumers)", "\(c.thinkMs)", "\(entry.repetition)", "\(r.seed)", "\(r.sold)", "\(r.oversold)", "\(r.finalStock)",
                    "\(r.outcomes.purchased)", "\(r.outcomes.soldOut)", "\(r.outcomes.gaveUp)", "\(r.outcomes.failed)",
                    "\(r.outcomes.deadLettered)", "\(r.outcomes.indeterminate)", "\(r.retries)", "\(r.latencyMs.p50)", "\(r.latencyMs.p90)",
                    "\(r.latencyMs.p99)", "\(r.latencyMs.max)", "\(r.throughputPerSec)", "\(r.durationSec)", "\(r.violations.count)",
                    c.isolation.rawValue, "\(r.undersold)", "\(r.aborts)",
                ]
            )
        }
        return writer.text
    }
}
