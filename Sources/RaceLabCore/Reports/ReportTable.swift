import Foundation

/// Renders run reports as a plain-text comparison table, one row per strategy.
public struct ReportTable: Sendable {
    public var reports: [RunReport]
    /// Wraps oversells and violations in ANSI colour (only when writing to a terminal).
    public var colour: Bool

    public init(reports: [RunReport], colour: Bool = false) {
        self.reports = reports
        self.colour = colour
    }

    /// "4 worker(s) × 4 consumers", or for workers already running (`--workers 0`) the consumers attached.
    static func workers(_ report: RunReport) -> String {
        report.workers == 0
            ? "workers already running: \(report.consumersPerWorker) consumer(s) attached"
            : "\(report.workers) worker(s) × \(report.consumersPerWorker) consumers"
    }

    public func render() -> String {
        guard let first = reports.first else { return "" }
        var lines: [String] = []
        lines.append(
            "\(first.buyers) buyers, \(first.items) item(s) × \(first.stock) stock, \(Self.workers(first)), think \(first.thinkMs) ms, seed \(first.seed)"
                + (first.via == "http" ? ", via http (publish \(String(format: "%.2f", first.publishSec)) s)" : "")
                + (first.ratePerSec.map { ", open loop at \(String(format: "%.0f", $0)) req/s (latency from each intended send time)" } ?? "")
        )
        lines.append("")
        let header = [
            "strategy", "isolation", "sold", "stock", "oversold", "undersold", "purchased", "sold out", "gave up", "failed", "unknown", "retries",
            "aborts", "p50 ms", "p99 ms", "max ms", "req/s", "invariants",
        ]
        let rows = reports.map { r -> [String] in
            [
                r.strategy.rawValue, r.isolation.abbreviation, "\(r.sold)", "\(r.initialStock)", "\(r.oversold)", "\(r.undersold)",
                "\(r.outcomes.purchased)", "\(r.outcomes.soldOut)", "\(r.outcomes.gaveUp)", "\(r.outcomes.failed + r.outcomes.deadLettered)",
                "\(r.outcomes.indeterminate)", "\(r.retries)", "\(r.aborts)",
                // A partial run's timing covers only the requests that finished: unknown, not a measurement.
                r.timingKnown ? Self.format(r.latencyMs.p50) : "?", r.timingKnown ? Self.format(r.latencyMs.p99) : "?",
                r.timingKnown ? Self.format(r.latencyMs.max) : "?",
                r.timingKnown ? String(format: "%.0f", r.throughputPerSec) : "?", r.violations.isEmpty ? "ok" : "\(r.violations.count) broken",
            ]
        }
        let loud = reports.map { $0.oversold > 0 || !$0.violations.isEmpty }
        lines += TextTable.figures(header: header, rows: rows).lines { colour && loud[$0] ? "1;31" : nil }
        for report in reports {
            guard let kills = report.workerKillsSec else { continue }
            let times = kills.prefix(12).map { String(format: "+%.1f s", $0) }.joined(separator: ", ") + (kills.count > 12 ? ", …" : "")
            lines.append("\(report.strategy.rawValue): chaos killed \(kills.count) worker(s)\(kills.isEmpty ? "" : " at " + times)")
        }
        let broken = reports.filter { !$0.violations.isEmpty }
        let undersold = reports.filter { $0.undersold > 0 }
        if !broken.isEmpty || !undersold.isEmpty {
            lines.append("")
            for report in broken {
                for violation in report.violations { lines.append("\(report.strategy.rawValue): \(violation)") }
            }
            for report in undersold {
                let turnedAway = report.outcomes.soldOut + report.outcomes.gaveUp
                lines.append(
                    "\(report.strategy.rawValue): undersold \(report.undersold): \(report.finalStock) unit(s) left in stock while \(turnedAway) buyer(s) were turned away"
                )
            }
        }
        lines.append("")
        lines.append("isolation: rc read committed, rr repeatable read, ser serializable; aborts: transactions the server aborted (40001, 40P01)")
        return lines.joined(separator: "\n")
    }

    static func format(_ milliseconds: Double) -> String {
        milliseconds >= 100 ? String(format: "%.0f", milliseconds) : String(format: "%.1f", milliseconds)
    }
}
