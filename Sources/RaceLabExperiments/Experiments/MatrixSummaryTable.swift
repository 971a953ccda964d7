import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// The short table `racelab matrix` prints when it is done: one row per cell, each figure the mean over
/// the cell's repetitions (throughput and p99 with their 95% confidence interval).
public struct MatrixSummaryTable: Sendable {
    public var cells: [CellSummary]
    /// Wraps rows that oversold or broke invariants in ANSI colour (only when writing to a terminal).
    public var colour: Bool

    public init(cells: [CellSummary], colour: Bool = false) {
        self.cells = cells
        self.colour = colour
    }

    public func render() -> String {
        let header = [
            "strategy", "isolation", "buyers", "stock", "items", "workers", "consumers", "think", "reps", "sold", "oversold", "undersold",
            "req/s", "p99 ms", "invariants",
        ]
        let rows = cells.map { summary -> [String] in
            let cell = summary.cell
            let broken = summary.runsWithViolations
            return [
                cell.strategy.rawValue, cell.isolation.abbreviation, "\(cell.buyers)", "\(cell.stock)", "\(cell.items)", "\(cell.workers)",
                "\(cell.consumers)",
                "\(cell.thinkMs)", "\(summary.count)", "\(Self.number(summary.sold.mean))/\(summary.initialStock)",
                Self.number(summary.oversold.mean), Self.number(summary.undersold.mean), summary.throughputPerSec.formatted(digits: 0),
                summary.p99.formatted(digits: 1),
                broken == 0 ? "ok" : "\(broken) of \(summary.count) broken",
            ]
        }
        let loud = cells.map { $0.oversold.mean > 0 || $0.runsWithViolations > 0 }
        let lines = TextTable.figures(header: header, rows: rows).lines { colour && loud[$0] ? "1;31" : nil }
        return lines.joined(separator: "\n")
    }

    /// `16`, or `15.5` when the mean is not whole.
    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }
}
