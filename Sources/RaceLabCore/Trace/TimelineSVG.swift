import Foundation

/// The race as swimlanes: one lane per database session over the first part of a traced run, each
/// attempt's steps drawn where they happened (reads, lock waits, think, writes, commits), the two
/// buyers of the first lost update outlined in red. Self-contained SVG, with a `<title>` per step.
public struct TimelineSVG {
    public var trace: TraceFile
    public var story: RaceStory
    public var width = 1000.0
    /// Lanes drawn at most (the sessions that started first).
    public var maxLanes = 40
    /// Attempts the window covers at least, from the start.
    public var minAttempts = 40

    public init(trace: TraceFile, story: RaceStory) {
        self.trace = trace
        self.story = story
    }

    /// The colour of each kind of step, in the legend's order.
    static let colours: [(TraceStep.Kind, String, String)] = [
        (.read, "#4e79a7", "read"), (.lock, "#f28e2b", "lock wait"), (.think, "#bab0ac", "think"), (.write, "#b07aa1", "write"),
        (.order, "#76b7b2", "order"), (.commit, "#59a14f", "commit"), (.rollback, "#e15759", "rollback / error"),
        (.begin, "#d4d4d4", "begin"), (.statement, "#9c755f", "other"),
    ]

    /// The window shown, µs since the epoch: from the first attempt to the end of the first
    /// `minAttempts` attempts or the first lost update's last commit, whichever is later, plus a margin.
    func window(origin: UInt64) -> ClosedRange<UInt64> {
        let attempts = trace.attempts
        let last = attempts.map(\.trace.endedAt).max() ?? origin
        var end = attempts.prefix(minAttempts).map(\.trace.endedAt).max() ?? last
        if let collision = story.firstCollision {
            let colliding = attempts.filter { collision.requestIds.contains($0.requestId) }.map(\.trace.endedAt).max() ?? end
            end = max(end, colliding)
        }
        end = min(last, origin + (end - min(end, origin)) * 11 / 10 + 500)
        return origin...max(end, origin + 1000)
    }

    /// Where to draw each step: its own time, except that the statements of one pipelined round trip
    /// (one `at`, answered together) share the round trip's time — the statements one after another in
    /// equal parts, BEGIN/COMMIT/ROLLBACK as thin marks at its start/end.
    static func slices(_ steps: [TraceStep]) -> [(TraceStep, ClosedRange<UInt64>)] {
        var drawn: [(TraceStep, ClosedRange<UInt64>)] = []
        var index = steps.startIndex
        while index < steps.endIndex {
            let start = steps[index].at
            let group = steps[index...].prefix { $0.at == start && $0.kind != .think }
            let round = group.isEmpty ? steps[index...index] : group
            index += round.count
            let end = max(round.map(\.end).max() ?? start, start)
            guard round.count > 1 else {
                drawn.append((round[round.startIndex], start...end))
                continue
            }
            let mark: UInt64 = 60  // µs: a thin mark
            let body = round.filter { ![.begin, .commit, .rollback].contains($0.kind) }
            let part = body.isEmpty ? 0 : (end - start) / UInt64(body.count)
            var next = start
            for step in round {
                switch step.kind {
                case .begin: drawn.append((step, start...start + mark))
                case .commit, .rollback: drawn.append((step, max(start, end - min(end, mark))...end))
                default:
                    drawn.append((step, next...next + part))
                    next += part
                }
            }
        }
        return drawn
    }

    public func render() -> String {
        let origin = trace.attempts.map(\.trace.startedAt).min() ?? 0
        let window = window(origin: origin)
        let shown = trace.attempts.filter { $0.trace.startedAt <= window.upperBound }
        var lanes: [Int] = []
        for attempt in shown where !lanes.contains(attempt.trace.session) { lanes.append(attempt.trace.session) }
        let hidden = max(0, lanes.count - maxLanes)
        lanes = Array(lanes.prefix(maxLanes))
        let laneHeight = 20.0
        let left = 110.0
        let right = 16.0
        let top = 46.0
        let plotWidth = width - left - right
        let plotHeight = Double(lanes.count) * laneHeight
        let legendTop = top + plotHeight + 44
        let height = legendTop + 40
        let spanMs = Double(window.upperBound - window.lowerBound) / 1000
        func px(_ micro: UInt64) -> Double {
            left + Double(min(max(micro, window.lowerBound), window.upperBound) - window.lowerBound) / 1000 / spanMs * plotWidth
        }
        func n(_ value: Double) -> String { String(format: "%.1f", value) }
        let highlighted = Set(story.firstCollision?.requestIds ?? [])
        let title =
            "\(trace.run.strategy.rawValue) at \(trace.run.isolation.rawValue): the first \(n(spanMs)) ms, one lane per database session"

        var svg: [String] = []
        svg.append(
            "<svg class=\"timeline\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\" height=\"\(n(height))\" role=\"img\" "
                + "aria-label=\"\(title.htmlEscaped)\" font-family=\"sans-serif\" font-size=\"11\">"
        )
        svg.append("<title>\(title.htmlEscaped)</title>")
        svg.append("<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>")
        svg.append("<text x=\"\(n(left))\" y=\"20\" font-size=\"14\" font-weight=\"bold\">\(title.htmlEscaped)</text>")
        // Time axis.
        for tick in AxisTicks.nice(upTo: spanMs) where tick <= spanMs {
            let x = left + tick / spanMs * plotWidth
            svg.append("<line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(top + plotHeight))\" stroke=\"#eeeeee\"/>")
            svg.append("<text x=\"\(n(x))\" y=\"\(n(top + plotHeight + 16))\" text-anchor=\"middle\">+\(AxisTicks.label(tick).htmlEscaped) ms</text>")
        }
        svg.append(
            "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(top + plotHeight + 32))\" text-anchor=\"middle\" font-weight=\"bold\">time since the first attempt (ms)</text>"
        )
        for (index, session) in lanes.enumerated() {
            let y = top + Double(index) * laneHeight
            if index % 2 == 1 {
                svg.append("<rect x=\"\(n(left))\" y=\"\(n(y))\" width=\"\(n(plotWidth))\" height=\"\(n(laneHeight))\" fill=\"#f7f7f7\"/>")
            }
            svg.append("<text x=\"\(n(left - 6))\" y=\"\(n(y + 14))\" text-anchor=\"end\">session \(session)</text>")
        }
        let colour = Dictionary(uniqueKeysWithValues: Self.colours.map { ($0.0, $0.1) })
        var outlines: [String] = []
        for attempt in shown {
            guard let lane = lanes.firstIndex(of: attempt.trace.session) else { continue }
            let y = top + Double(lane) * laneHeight + 3
            let barHeight = laneHeight - 6
            let x0 = px(attempt.trace.startedAt)
            let x1 = max(px(attempt.trace.endedAt), x0 + 1)
            let label = "buyer \(attempt.buyerId), attempt \(attempt.trace.attempt): \(attempt.trace.ending.rawValue)"
            svg.append(
                "<g><title>\(label.htmlEscaped)</title><rect x=\"\(n(x0))\" y=\"\(n(y))\" width=\"\(n(x1 - x0))\" height=\"\(n(barHeight))\" fill=\"none\" stroke=\"#999999\" stroke-width=\"0.5\"/></g>"
            )
            for (step, slice) in Self.slices(attempt.trace.steps) {
                let sx = px(slice.lowerBound)
                let width = max(px(slice.upperBound) - sx, 1)
                let failed = step.sqlState != nil
                let fill = failed ? colour[.rollback]! : colour[step.kind] ?? "#999999"
                var tip = "buyer \(attempt.buyerId): \(step.kind.rawValue)"
                if let value = step.value { tip += " \(step.column ?? "value") = \(value)" }
                if let state = step.sqlState { tip += " SQLSTATE \(state)" }
                tip += String(
                    format: " at +%.2f ms for %.2f ms",
                    Double(step.at - min(step.at, origin)) / 1000,
                    Double(step.end - min(step.end, step.at)) / 1000
                )
                svg.append(
                    "<rect x=\"\(n(sx))\" y=\"\(n(y + 1))\" width=\"\(n(width))\" height=\"\(n(barHeight - 2))\" fill=\"\(fill)\"><title>\(tip.htmlEscaped)</title></rect>"
                )
            }
            if highlighted.contains(attempt.requestId) && attempt.trace.ending == .purchased {
                outlines.append(
                    "<rect class=\"collision\" x=\"\(n(x0 - 1))\" y=\"\(n(y - 2))\" width=\"\(n(x1 - x0 + 2))\" height=\"\(n(barHeight + 4))\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\"/>"
                )
                outlines.append(
                    "<text x=\"\(n(x1 + 3))\" y=\"\(n(y + 10))\" fill=\"#d62728\" font-weight=\"bold\">buyer \(attempt.buyerId)</text>"
                )
            }
        }
        svg.append(contentsOf: outlines)
        if hidden > 0 {
            svg.append("<text x=\"\(n(left))\" y=\"\(n(top - 6))\" fill=\"#666666\">\(hidden) more sessions not drawn</text>")
        }
        // Legend.
        var x = left
        for (_, fill, name) in Self.colours {
            svg.append("<rect x=\"\(n(x))\" y=\"\(n(legendTop))\" width=\"14\" height=\"10\" fill=\"\(fill)\"/>")
            svg.append("<text x=\"\(n(x + 18))\" y=\"\(n(legendTop + 9))\">\(name.htmlEscaped)</text>")
            x += 26 + Double(name.count) * 6.2
        }
        svg.append("<rect x=\"\(n(x))\" y=\"\(n(legendTop))\" width=\"14\" height=\"10\" fill=\"none\" stroke=\"#999999\"/>")
        svg.append("<text x=\"\(n(x + 18))\" y=\"\(n(legendTop + 9))\">attempt (blank: between statements)</text>")
        x += 26 + 34 * 6.2
        if story.firstCollision != nil {
            svg.append(
                "<rect x=\"\(n(x))\" y=\"\(n(legendTop - 1))\" width=\"14\" height=\"12\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\"/>"
            )
            svg.append("<text x=\"\(n(x + 18))\" y=\"\(n(legendTop + 9))\">the first lost update</text>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }
}

/// A traced run's page: the story in words above its timeline (`racelab explain --html`).
public enum TracePage {
    public static func html(trace: TraceFile, story: RaceStory) -> String {
        let title = "RaceLab: how \(trace.run.strategy.rawValue) raced (run \(trace.run.runId.uuidString.prefix(8)))"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(title.htmlEscaped)</title>
            <style>
            body { font-family: sans-serif; margin: 24px; max-width: 1040px; color: #222; }
            p.story { line-height: 1.5; }
            svg { max-width: 100%; height: auto; }
            </style>
            </head>
            <body>
            <h1>\(title.htmlEscaped)</h1>
            \(section(trace: trace, story: story))
            </body>
            </html>

            """
    }

    /// The story and the timeline, for a page or a report's section.
    public static func section(trace: TraceFile, story: RaceStory) -> String {
        let lines = story.lines.map { "<p class=\"story\">\($0.htmlEscaped)</p>" }.joined(separator: "\n")
        return "<div class=\"race\">\n\(lines)\n\(TimelineSVG(trace: trace, story: story).render())\n</div>"
    }
}
