import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

extension MatrixReport {
    /// The charts of `report.html`, in order: oversold per strategy, throughput and p99 latency against
    /// contention, then one latency percentile plot per strategy.
    var charts: [SVGChart] {
        let axis = ContentionAxis(cells: cells.map(\.cell))
        let (ticks, domain) = SVGChart.categories(axis.labels)
        func chart(id: String, title: String, yTitle: String, style: SVGChart.Style, metric: (CellSummary) -> SampleSummary) -> SVGChart {
            SVGChart(
                id: id,
                title: title,
                xTitle: axis.title,
                yTitle: yTitle,
                style: style,
                xTicks: ticks,
                xDomain: domain,
                series: contentionSeries(axis: axis, metric: metric),
                dodge: style == .lines
            )
        }
        var charts = [
            chart(id: "chart-oversold", title: "Oversold units per strategy (mean, 95% CI)", yTitle: "units oversold", style: .bars) { $0.oversold },
            chart(id: "chart-throughput", title: "Throughput against contention (mean, 95% CI)", yTitle: "requests per second", style: .lines) {
                $0.throughputPerSec
            },
            chart(id: "chart-p99", title: "p99 latency against contention (mean, 95% CI)", yTitle: "p99 latency (ms)", style: .lines) { $0.p99 },
        ]
        charts += strategies.map { latencyChart(for: $0) }
        return charts
    }

    /// One series per strategy (and per value of any other knob that varies), a point per cell on the axis.
    private func contentionSeries(axis: ContentionAxis, metric: (CellSummary) -> SampleSummary) -> [SVGChart.Series] {
        let others = varyingKnobs(among: cells.map(\.cell)).filter { $0 != .strategy && !axis.knobs.contains($0) }
        let groups = Dictionary(grouping: cells) { axis.seriesKey(of: $0.cell) }
        var perStrategy: [StrategyName: Int] = [:]
        return groups.keys.sorted { ($0.strategy, $0) < ($1.strategy, $1) }.map { key in
            let index = perStrategy[key.strategy, default: 0]
            perStrategy[key.strategy] = index + 1
            let name = ([key.strategy.rawValue] + others.map { $0.shortLabel(in: key) }).joined(separator: " ")
            let points = groups[key, default: []].map { summary in
                let sample = metric(summary)
                return SVGChart.Point(x: axis.position(of: summary.cell), y: sample.mean, error: sample.ci95)
            }
            return SVGChart.Series(name: name, colour: Self.colour(of: key.strategy), dash: Self.dashes[index % Self.dashes.count], points: points)
        }
    }

    /// The latency percentile curve of each of the strategy's cells (repetitions averaged), x on a "nines" scale.
    private func latencyChart(for strategy: StrategyName) -> SVGChart {
        var own = cells.filter { $0.cell.strategy == strategy }
        if own.count > 6 {  // keep the chart readable: six cells spread over the range
            own = (0..<6).map { own[Int((Double($0) * Double(own.count - 1) / 5).rounded())] }
        }
        let varying = varyingKnobs(among: own.map(\.cell)).filter { $0 != .strategy }
        let finite = own.flatMap(\.latencyCurve).map(\.percentile).filter { $0 < 100 }
        let highest = finite.map(Self.nines).max() ?? 0
        let maxNines = max(3, (highest - 1e-9).rounded(.up) + 1)  // 99.9 is 3.0000000000000004 nines
        func position(_ percentile: Double) -> Double { percentile >= 100 ? maxNines : Self.nines(percentile) }
        var ticks = [SVGChart.Tick(position: 0, label: "0"), SVGChart.Tick(position: Self.nines(50), label: "50")]
        var nines = 1.0
        while nines < maxNines {
            let percentile = 100 - 100 / pow(10, nines)
            ticks.append(SVGChart.Tick(position: nines, label: AxisTicks.label(percentile)))
            nines += 1
        }
        ticks.append(SVGChart.Tick(position: maxNines, label: "max"))
        let series = own.enumerated().map { index, summary in
            let name = varying.isEmpty ? summary.cell.stampedeLabel : varying.map { $0.shortLabel(in: summary.cell) }.joined(separator: " ")
            return SVGChart.Series(
                name: name,
                colour: Self.colour(of: strategy),
                dash: Self.dashes[index % Self.dashes.count],
                opacity: own.count > 1 ? 0.4 + 0.6 * Double(index) / Double(own.count - 1) : 1,
                points: summary.latencyCurve.map { SVGChart.Point(x: position($0.percentile), y: $0.milliseconds, error: nil) }
            )
        }
        return SVGChart(
            id: "chart-latency-\(strategy.rawValue)",
            title: "\(strategy.rawValue): latency by percentile",
            xTitle: "percentile (nines scale)",
            yTitle: "latency (ms)",
            style: .lines,
            xTicks: ticks,
            xDomain: -0.15...(maxNines + 0.15),
            series: series,
            width: 480,
            height: 320
        )
    }

    /// −log₁₀(1 − p/100): 50 → 0.3, 90 → 1, 99 → 2, 99.9 → 3.
    static func nines(_ percentile: Double) -> Double { -log10(1 - min(percentile, 99.9999) / 100) }

    /// Dash patterns that tell apart lines of one colour; the first is solid.
    static let dashes: [String?] = [nil, "7 4", "2 3", "9 3 2 3", "4 4"]

    /// Knobs that take more than one value among `cells`.
    func varyingKnobs(among cells: [MatrixCell]) -> [CellKnob] {
        CellKnob.allCases.filter { knob in Set(cells.map { knob.value(in: $0) }).count > 1 }
    }
}
