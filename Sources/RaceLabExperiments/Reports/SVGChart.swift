import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// A chart drawn as hand-written, self-contained SVG: a title, axes with ticks, gridlines and titles,
/// a legend, and either grouped bars or lines, each point with an optional confidence-interval whisker.
///
/// The x axis is a scale of plain numbers (category indices for categorical axes) labelled by `xTicks`;
/// the y axis starts at zero and ends at a round number above the highest whisker.
struct SVGChart {
    enum Style {
        /// One group of bars per x tick, one bar per series.
        case bars
        /// One line per series through its points.
        case lines
    }

    struct Point {
        var x: Double
        var y: Double
        /// Half-width of the whisker drawn around `y` (a 95% confidence interval); nil draws none.
        var error: Double?
    }

    struct Series {
        var name: String
        var colour: String
        /// An SVG `stroke-dasharray`, to tell apart several lines of one colour.
        var dash: String?
        var opacity = 1.0
        var points: [Point]
    }

    struct Tick {
        var position: Double
        var label: String
    }

    var id: String
    var title: String
    var xTitle: String
    var yTitle: String
    var style: Style
    var xTicks: [Tick]
    var xDomain: ClosedRange<Double>
    var series: [Series]
    var width = 540.0
    var height = 340.0
    /// Shifts each line's points a few pixels sideways so whiskers at one x do not hide each other.
    var dodge = false

    /// A categorical x axis: tick `i` at position `i`, the domain padded by half a category each side.
    static func categories(_ labels: [String]) -> (ticks: [Tick], domain: ClosedRange<Double>) {
        (labels.enumerated().map { Tick(position: Double($0.offset), label: $0.element) }, -0.5...(Double(max(labels.count, 1)) - 0.5))
    }

    private var legendRows: [[(series: Series, x: Double)]] {
        var rows: [[(series: Series, x: Double)]] = [[]]
        var x = 0.0
        let available = width - 80
        for series in series {
            let itemWidth = 30 + Double(series.name.count) * 6.6 + 14
            if x > 0 && x + itemWidth > available {
                rows.append([])
                x = 0
            }
            rows[rows.count - 1].append((series, x))
            x += itemWidth
        }
        return rows
    }

    func render() -> String {
        let legend = legendRows
        let left = 68.0
        let right = 18.0
        let top = 40.0
        let bottom = 62.0 + Double(legend.count) * 20
        let totalHeight = height + Double(legend.count) * 20
        let plotWidth = width - left - right
        let plotHeight = totalHeight - top - bottom
        let highest = series.flatMap(\.points).map { $0.y + ($0.error ?? 0) }.max() ?? 0
        let yTicks = AxisTicks.nice(upTo: highest)
        let yMax = yTicks.last ?? 1
        let span = xDomain.upperBound - xDomain.lowerBound
        func px(_ x: Double) -> Double { left + (x - xDomain.lowerBound) / (span > 0 ? span : 1) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - max(0, y) / yMax * plotHeight }
        func n(_ value: Double) -> String { String(format: "%.1f", value) }

        var svg: [String] = []
        svg.append(
            "<svg id=\"\(id.htmlEscaped)\" class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(totalHeight))\" "
                + "width=\"\(n(width))\" height=\"\(n(totalHeight))\" role=\"img\" aria-label=\"\(title.htmlEscaped)\" "
                + "font-family=\"sans-serif\" font-size=\"12\">"
        )
        svg.append("<title>\(title.htmlEscaped)</title>")
        svg.append("<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(totalHeight))\" fill=\"#ffffff\"/>")
        svg.append("<text x=\"\(n(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(title.htmlEscaped)</text>")

        // Gridlines and y ticks.
        for tick in yTicks {
            let y = py(tick)
            svg.append("<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(y))\" stroke=\"#e3e3e3\"/>")
            svg.append("<line x1=\"\(n(left - 5))\" y1=\"\(n(y))\" x2=\"\(n(left))\" y2=\"\(n(y))\" stroke=\"#333\"/>")
            svg.append("<text x=\"\(n(left - 8))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(AxisTicks.label(tick).htmlEscaped)</text>")
        }
        // X ticks.
        for tick in xTicks {
            let x = px(tick.position)
            svg.append("<line x1=\"\(n(x))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(x))\" y2=\"\(n(top + plotHeight + 5))\" stroke=\"#333\"/>")
            svg.append("<text x=\"\(n(x))\" y=\"\(n(top + plotHeight + 19))\" text-anchor=\"middle\">\(tick.label.htmlEscaped)</text>")
        }
        // Axes and their titles.
        svg.append(
            "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(top + plotHeight))\" stroke=\"#333\"/>"
                + "<line x1=\"\(n(left))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(top + plotHeight))\" stroke=\"#333\"/>"
        )
        svg.append(
            "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(top + plotHeight + 40))\" text-anchor=\"middle\" font-weight=\"bold\">\(xTitle.htmlEscaped)</text>"
        )
        svg.append(
            "<text transform=\"translate(16 \(n(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-weight=\"bold\">\(yTitle.htmlEscaped)</text>"
        )

        switch style {
        case .bars: svg.append(contentsOf: bars(px: px, py: py, yMax: yMax))
        case .lines: svg.append(contentsOf: lines(px: px, py: py))
        }

        // Legend.
        for (row, items) in legend.enumerated() {
            let y = top + plotHeight + 58 + Double(row) * 20
            for item in items {
                let x = left + item.x
                let dash = item.series.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
                if style == .bars {
                    svg.append(
                        "<rect x=\"\(n(x))\" y=\"\(n(y - 9))\" width=\"22\" height=\"11\" fill=\"\(item.series.colour)\" fill-opacity=\"\(n(item.series.opacity))\"/>"
                    )
                } else {
                    svg.append(
                        "<line x1=\"\(n(x))\" y1=\"\(n(y - 4))\" x2=\"\(n(x + 22))\" y2=\"\(n(y - 4))\" stroke=\"\(item.series.colour)\" stroke-width=\"2.5\"\(dash) "
                            + "stroke-opacity=\"\(n(item.series.opacity))\"/>"
                    )
                }
                svg.append("<text x=\"\(n(x + 28))\" y=\"\(n(y))\">\(item.series.name.htmlEscaped)</text>")
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    private func bars(px: (Double) -> Double, py: (Double) -> Double, yMax: Double) -> [String] {
        func n(_ value: Double) -> String { String(format: "%.1f", value) }
        var svg: [String] = []
        let band = px(xDomain.lowerBound + 1) - px(xDomain.lowerBound)
        let groupWidth = band * 0.8
        let barWidth = groupWidth / Double(max(series.count, 1))
        for (index, series) in series.enumerated() {
            for point in series.points {
                let x = px(point.x) - groupWidth / 2 + Double(index) * barWidth
                let y = py(point.y)
                let base = py(0)
                svg.append(
                    "<rect x=\"\(n(x + 1))\" y=\"\(n(y))\" width=\"\(n(max(1, barWidth - 2)))\" height=\"\(n(max(0, base - y)))\" "
                        + "fill=\"\(series.colour)\" fill-opacity=\"\(n(series.opacity))\"><title>\(series.name.htmlEscaped): \(AxisTicks.label(point.y))</title></rect>"
                )
                let centre = x + barWidth / 2
                var labelY = y - 4
                if let error = point.error, error > 0 {
                    svg.append(whisker(x: centre, low: py(point.y - error), high: py(point.y + error), colour: "#222"))
                    labelY = py(point.y + error) - 4
                }
                svg.append(
                    "<text x=\"\(n(centre))\" y=\"\(n(labelY))\" text-anchor=\"middle\" font-size=\"11\">\(AxisTicks.label(point.y).htmlEscaped)</text>"
                )
            }
        }
        return svg
    }

    private func lines(px plain: (Double) -> Double, py: (Double) -> Double) -> [String] {
        func n(_ value: Double) -> String { String(format: "%.1f", value) }
        var svg: [String] = []
        for (index, series) in series.enumerated() {
            let points = series.points.sorted { $0.x < $1.x }
            let shift = dodge ? (Double(index) - Double(self.series.count - 1) / 2) * 5 : 0
            func px(_ x: Double) -> Double { plain(x) + shift }
            let dash = series.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            let path = points.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
            svg.append("<g opacity=\"\(n(series.opacity))\">")
            if points.count > 1 {
                svg.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(series.colour)\" stroke-width=\"2.5\"\(dash)/>")
            }
            for point in points {
                if let error = point.error, error > 0 {
                    svg.append(whisker(x: px(point.x), low: py(point.y - error), high: py(point.y + error), colour: series.colour))
                }
                svg.append(
                    "<circle cx=\"\(n(px(point.x)))\" cy=\"\(n(py(point.y)))\" r=\"3.5\" fill=\"\(series.colour)\">"
                        + "<title>\(series.name.htmlEscaped): \(AxisTicks.label(point.y))</title></circle>"
                )
            }
            svg.append("</g>")
        }
        return svg
    }

    private func whisker(x: Double, low: Double, high: Double, colour: String) -> String {
        func n(_ value: Double) -> String { String(format: "%.1f", value) }
        return "<path d=\"M\(n(x - 4)) \(n(low))H\(n(x + 4))M\(n(x)) \(n(low))V\(n(high))M\(n(x - 4)) \(n(high))H\(n(x + 4))\" "
            + "stroke=\"\(colour)\" stroke-width=\"1.3\" fill=\"none\"/>"
    }
}
