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

    public func render() -> String {
        guard let first = reports.first else { return "" }
        var lines: [String] = []
        lines.append(
            "\(first.buyers) buyers, \(first.items) item(s) × \(first.stock) stock, \(first.workers) worker(s) × \(first.consumersPerWorker) consumers, think \(first.thinkMs) ms, seed \(first.seed)"
        )
        lines.append("")
        let header = [
            "strategy", "sold", "stock", "oversold", "purchased", "sold out", "gave up", "failed", "unknown", "retries", "p50 ms", "p99 ms",
            "max ms", "req/s", "invariants",
        ]
        let rows = reports.map { r -> [String] in
            [
                r.strategy.rawValue, "\(r.sold)", "\(r.initialStock)", "\(r.oversold)", "\(r.outcomes.purchased)",
                "\(r.outcomes.soldOut)", "\(r.outcomes.gaveUp)", "\(r.outcomes.failed + r.outcomes.deadLettered)", "\(r.outcomes.indeterminate)",
                "\(r.retries)", Self.format(r.latencyMs.p50), Self.format(r.latencyMs.p99), Self.format(r.latencyMs.max),
                String(format: "%.0f", r.throughputPerSec), r.violations.isEmpty ? "ok" : "\(r.violations.count) broken",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String], emphasise: Bool = false) -> String {
            let text = cells.enumerated().map { index, cell in
                index == 0
                    ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
            return emphasise && colour ? "\u{1B}[1;31m\(text)\u{1B}[0m" : text
        }
        lines.append(line(header))
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for (report, row) in zip(reports, rows) {
            lines.append(line(row, emphasise: report.oversold > 0 || !report.violations.isEmpty))
        }
        let broken = reports.filter { !$0.violations.isEmpty }
        if !broken.isEmpty {
            lines.append("")
            for report in broken {
                for violation in report.violations { lines.append("\(report.strategy.rawValue): \(violation)") }
            }
        }
        return lines.joined(separator: "\n")
    }

    static func format(_ milliseconds: Double) -> String {
        milliseconds >= 100 ? String(format: "%.0f", milliseconds) : String(format: "%.1f", milliseconds)
    }
}
