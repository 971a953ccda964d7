import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// Renders a `RunComparison` as a plain-text table for people: one row per matched cell and metric,
/// then the cells that found no partner.
public struct ComparisonTable: Sendable {
    public var comparison: RunComparison
    public var titleA: String
    public var titleB: String
    /// Wraps "beyond noise" rows in bold (only when writing to a terminal).
    public var colour: Bool

    public init(comparison: RunComparison, titleA: String, titleB: String, colour: Bool = false) {
        self.comparison = comparison
        self.titleA = titleA
        self.titleB = titleB
        self.colour = colour
    }

    public func render() -> String {
        var lines: [String] = []
        lines.append("A: \(titleA)")
        lines.append("B: \(titleB)")
        lines.append("")
        if comparison.rows.isEmpty {
            lines.append("no cell of A matches a cell of B (try --match-ignoring KNOB)")
        } else {
            let header = ["cell", "metric", "A mean ± 95% CI", "B mean ± 95% CI", "change", "verdict"]
            let rows = comparison.rows.map { row -> [String] in
                let digits = row.metric == .throughputPerSec ? 0 : 1
                let change = row.change == 0 ? "0" : row.relativeChange.map { String(format: "%+.1f%%", $0 * 100) } ?? "new"
                return [row.label, row.metric.title, row.a.formatted(digits: digits), row.b.formatted(digits: digits), change, row.verdict.rawValue]
            }
            let table = TextTable(header: header, rows: rows, alignments: [.left, .left, .right, .right, .right, .left])
            lines += table.lines { colour && comparison.rows[$0].beyondNoise ? "1;35" : nil }
            lines.append("")
            let flagged = comparison.flagged.count
            lines.append(
                "\(flagged) of \(comparison.rows.count) changes beyond noise (Welch's t-test p < \(RunComparison.alpha), "
                    + "and over 10% — 20% for p99 — with at least 2 repetitions a side)"
            )
        }
        if !comparison.unmatchedA.isEmpty || !comparison.unmatchedB.isEmpty {
            lines.append("")
            lines.append("unmatched cells:")
            for cell in comparison.unmatchedA { lines.append("  only in A: \(cell.label)") }
            for cell in comparison.unmatchedB { lines.append("  only in B: \(cell.label)") }
        }
        return lines.joined(separator: "\n")
    }
}
