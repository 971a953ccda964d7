import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// One cell of a matrix run summed up over its repetitions: each metric's mean and 95% confidence interval.
public struct CellSummary: Sendable, Equatable, Codable {
    public var cell: MatrixCell
    /// Repetitions.
    public var count: Int
    public var sold: SampleSummary
    public var oversold: SampleSummary
    /// Units left unsold while buyers were turned away (see `RunReport.undersold`).
    public var undersold: SampleSummary
    /// Transactions the server aborted (40001, 40P01).
    public var aborts: SampleSummary
    public var throughputPerSec: SampleSummary
    public var p50: SampleSummary
    public var p99: SampleSummary
    /// Broken invariants per repetition.
    public var violations: SampleSummary
    /// Total stock of the stampede (stock × items), what "sold" is measured against.
    public var initialStock: Int
    /// Each repetition's latency curve averaged point by point (percentile → mean milliseconds).
    public var latencyCurve: [LatencyPoint]

    public init(cell: MatrixCell, entries: [MatrixRunEntry]) {
        let reports = entries.sorted { $0.repetition < $1.repetition }.map(\.report)
        self.cell = cell
        self.count = reports.count
        self.sold = SampleSummary(reports.map { Double($0.sold) })
        self.oversold = SampleSummary(reports.map { Double($0.oversold) })
        self.undersold = SampleSummary(reports.map { Double($0.undersold) })
        self.aborts = SampleSummary(reports.map { Double($0.aborts) })
        self.throughputPerSec = SampleSummary(reports.map(\.throughputPerSec))
        self.p50 = SampleSummary(reports.map(\.latencyMs.p50))
        self.p99 = SampleSummary(reports.map(\.latencyMs.p99))
        self.violations = SampleSummary(reports.map { Double($0.violations.count) })
        self.initialStock = reports.first.map { $0.perItem.isEmpty ? $0.stock * $0.items : $0.initialStock } ?? cell.stock * cell.items
        self.latencyCurve = Self.averageCurve(reports)
    }

    /// Summaries of every cell in `entries`, in cell order.
    public static func summaries(of entries: [MatrixRunEntry]) -> [CellSummary] {
        Dictionary(grouping: entries, by: \.cell).map { CellSummary(cell: $0.key, entries: $0.value) }.sorted { $0.cell < $1.cell }
    }

    /// Repetitions whose stampede broke at least one invariant.
    public var runsWithViolations: Int { violations.values.filter { $0 > 0 }.count }

    /// Averages the curves at the percentiles they share; a report without a curve contributes its
    /// p50/p90/p99/max instead.
    private static func averageCurve(_ reports: [RunReport]) -> [LatencyPoint] {
        let curves = reports.map { report -> [LatencyPoint] in
            if !report.latencyCurve.isEmpty { return report.latencyCurve }
            let summary = report.latencyMs
            return [
                LatencyPoint(percentile: 50, milliseconds: summary.p50), LatencyPoint(percentile: 90, milliseconds: summary.p90),
                LatencyPoint(percentile: 99, milliseconds: summary.p99), LatencyPoint(percentile: 100, milliseconds: summary.max),
            ]
        }
        guard let first = curves.first else { return [] }
        let shared = first.map(\.percentile).filter { percentile in curves.allSatisfy { $0.contains { $0.percentile == percentile } } }
        return shared.map { percentile in
            let values = curves.compactMap { $0.first { $0.percentile == percentile }?.milliseconds }
            return LatencyPoint(percentile: percentile, milliseconds: Statistics.mean(values))
        }
    }
}
