import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// Two sets of stampedes side by side, cell by cell and metric by metric, with a verdict on whether each
/// change is beyond the noise of the repetitions.
///
/// The verdict is deliberately conservative — a 2-core machine is noisy and a comparison tests many cells
/// at once: a change is flagged only when both sides have at least two repetitions, Welch's t-test rejects
/// "no difference" at p < 0.01, *and* the change exceeds a floor (10% of A's mean; 20% for p99 latency).
public struct RunComparison: Sendable {
    /// What is compared in each matched cell.
    public enum Metric: String, Sendable, CaseIterable, Codable {
        case throughputPerSec
        case p99
        case oversold
        case sold
        case undersold

        /// Smallest relative change that can count as real, however small p is.
        public var floor: Double { self == .p99 ? 0.20 : 0.10 }

        /// The column name people read.
        public var title: String {
            switch self {
            case .throughputPerSec: "req/s"
            case .p99: "p99 ms"
            case .oversold: "oversold"
            case .sold: "sold"
            case .undersold: "undersold"
            }
        }

        /// The spread assumed at least, however alike the repetitions: counts are whole units, so identical
        /// repetitions (1, 1, 1 against 0, 0, 0) must not look infinitely certain.
        var minimumStandardDeviation: Double {
            switch self {
            case .oversold, .sold, .undersold: 0.5
            case .throughputPerSec, .p99: 0
            }
        }

        func value(_ report: RunReport) -> Double {
            switch self {
            case .throughputPerSec: report.throughputPerSec
            case .p99: report.latencyMs.p99
            case .oversold: Double(report.oversold)
            case .sold: Double(report.sold)
            case .undersold: Double(report.undersold)
            }
        }
    }

    /// What the numbers say about a change.
    public enum Verdict: String, Sendable, Codable {
        case beyondNoise = "beyond noise"
        case withinNoise = "within noise"
        case cannotTell = "cannot tell"
    }

    /// One metric of one matched pair of cells.
    public struct Row: Sendable, Equatable, Codable {
        /// Names the pair: A's label, plus what B changes (`… t=0 → t=10`).
        public var label: String
        public var cellA: MatrixCell
        public var cellB: MatrixCell
        public var metric: Metric
        public var a: SampleSummary
        public var b: SampleSummary
        /// mean(B) − mean(A).
        public var change: Double
        /// change ÷ mean(A); nil when A's mean is 0.
        public var relativeChange: Double?
        /// Welch's two-sided p-value; nil when a side has fewer than two repetitions.
        public var pValue: Double?
        public var beyondNoise: Bool
        public var verdict: Verdict
        /// Why the verdict is what it is, in plain words.
        public var reason: String
    }

    public var rows: [Row]
    /// Cells of A with no partner in B, and the other way round.
    public var unmatchedA: [MatrixCell]
    public var unmatchedB: [MatrixCell]

    /// The significance level of the test.
    public static let alpha = 0.01

    /// Compares two matrix runs' stampedes, pairing equal cells; with `ignoring`, cells that differ only
    /// in that knob pair up too (two runs that differ only in think time, say).
    public init(a: [MatrixRunEntry], b: [MatrixRunEntry], ignoring: CellKnob? = nil) {
        let cellsA = Set(a.map(\.cell))
        let cellsB = Set(b.map(\.cell))
        var pairs: [(MatrixCell, MatrixCell)] = cellsA.intersection(cellsB).map { ($0, $0) }
        var leftA = cellsA.subtracting(cellsB)
        var leftB = cellsB.subtracting(cellsA)
        if let ignoring {
            let keysA = Dictionary(grouping: leftA) { ignoring.erased(in: $0) }
            let keysB = Dictionary(grouping: leftB) { ignoring.erased(in: $0) }
            for (key, group) in keysA {
                // Pair only when each side has exactly one such cell: otherwise which goes with which is a guess.
                guard group.count == 1, let partners = keysB[key], partners.count == 1 else { continue }
                pairs.append((group[0], partners[0]))
                leftA.remove(group[0])
                leftB.remove(partners[0])
            }
        }
        let byCellA = Dictionary(grouping: a, by: \.cell)
        let byCellB = Dictionary(grouping: b, by: \.cell)
        rows = pairs.sorted { $0.0 < $1.0 }.flatMap { cellA, cellB in
            Metric.allCases.map { metric in
                Self.row(
                    cellA: cellA,
                    cellB: cellB,
                    metric: metric,
                    a: byCellA[cellA, default: []].map { metric.value($0.report) },
                    b: byCellB[cellB, default: []].map { metric.value($0.report) }
                )
            }
        }
        unmatchedA = leftA.sorted()
        unmatchedB = leftB.sorted()
    }

    /// Compares two strategies within one matrix run: each cell of `strategyA` against the same stampede with `strategyB`.
    public init(entries: [MatrixRunEntry], strategyA: StrategyName, strategyB: StrategyName) {
        self.init(
            a: entries.filter { $0.cell.strategy == strategyA },
            b: entries.filter { $0.cell.strategy == strategyB },
            ignoring: .strategy
        )
    }

    /// Rows whose change is beyond noise.
    public var flagged: [Row] { rows.filter(\.beyondNoise) }

    static func row(cellA: MatrixCell, cellB: MatrixCell, metric: Metric, a: [Double], b: [Double]) -> Row {
        let summaryA = SampleSummary(a)
        let summaryB = SampleSummary(b)
        let change = summaryB.mean - summaryA.mean
        let relative: Double? = summaryA.mean != 0 ? change / abs(summaryA.mean) : nil
        let differing = cellA.knobsDiffering(from: cellB)
        let label =
            differing.isEmpty
            ? cellA.label
            : cellA.label + " → " + differing.map { $0.shortLabel(in: cellB) }.joined(separator: " ")
        var row = Row(
            label: label,
            cellA: cellA,
            cellB: cellB,
            metric: metric,
            a: summaryA,
            b: summaryB,
            change: change,
            relativeChange: relative,
            pValue: nil,
            beyondNoise: false,
            verdict: .cannotTell,
            reason: ""
        )
        guard let test = Statistics.welch(a, b, minimumStandardDeviation: metric.minimumStandardDeviation) else {
            row.reason = "one repetition: cannot tell noise"
            return row
        }
        row.pValue = test.p
        row.verdict = .withinNoise
        if change == 0 {
            row.reason = "no change"
        } else if test.p >= alpha {
            row.reason = String(format: "p = %.3g ≥ %.2g: the repetitions overlap", test.p, alpha)
        } else if let relative, abs(relative) <= metric.floor {
            row.reason = String(format: "p = %.3g, but %.1f%% is under the %.0f%% floor", test.p, relative * 100, metric.floor * 100)
        } else {
            row.beyondNoise = true
            row.verdict = .beyondNoise
            row.reason = String(format: "p = %.3g < %.2g and over the %.0f%% floor", test.p, alpha, metric.floor * 100)
        }
        return row
    }
}
