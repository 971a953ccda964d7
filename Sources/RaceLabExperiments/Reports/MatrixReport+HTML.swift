import RaceLabCore
import RaceLabLab
import RaceLabPipeline

extension MatrixReport {
    /// `report.html`: one self-contained page (inline CSS and SVG, no scripts, fonts or images from
    /// anywhere) with the charts, the tables of `report.md`, the notes and the spec. All text is escaped.
    public func html() -> String {
        let charts = charts
        let (main, latency) = (charts.prefix(3), charts.dropFirst(3))
        var html: [String] = []
        let title = "\(record.name) — matrix run #\(record.id)"
        html.append("<!DOCTYPE html>")
        html.append("<html lang=\"en\"><head><meta charset=\"utf-8\">")
        html.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        html.append("<title>\(title.htmlEscaped)</title>")
        html.append("<style>\(Self.css)</style></head><body><main>")
        html.append("<h1>\(title.htmlEscaped)</h1>")
        html.append(
            "<p class=\"lede\">Each figure is the mean over a cell's repetitions; whiskers and ± are the 95% confidence interval "
                + "(Student's t). A cell with one repetition shows its one value.</p>"
        )
        html.append("<section><h2>Environment</h2><table class=\"facts\">")
        for (name, value) in environmentFacts { html.append("<tr><th>\(name.htmlEscaped)</th><td>\(value.htmlEscaped)</td></tr>") }
        html.append("</table></section>")
        html.append("<section><h2>Notes</h2><ul>")
        for note in notes { html.append("<li>\(note.htmlEscaped)</li>") }
        html.append("</ul></section>")
        html.append("<section><h2>Charts</h2><div class=\"charts\">")
        for chart in main { html.append("<figure>\(chart.render())</figure>") }
        html.append("</div><h3>Latency percentiles per strategy</h3><div class=\"charts small\">")
        for chart in latency { html.append("<figure>\(chart.render())</figure>") }
        html.append("</div></section>")
        html.append("<section><h2>Results</h2>")
        for group in stampedeGroups {
            let s = group.stampede
            html.append("<h3>\(s.stampedeLabel.htmlEscaped)</h3>")
            html.append(
                "<p>\(s.buyers) buyers, \(s.items) item(s) × \(s.stock) stock, \(s.workers) worker(s) × \(s.consumers) consumers, "
                    + "think \(s.thinkMs) ms, isolation \(s.isolation.rawValue)</p>"
            )
            html.append(
                "<table class=\"results\"><thead><tr><th>strategy</th><th>runs</th><th>sold / stock</th><th>oversold (mean)</th>"
                    + "<th>undersold (mean)</th><th>aborts (mean)</th><th>req/s</th><th>p50 ms</th><th>p99 ms</th><th>violations</th></tr></thead><tbody>"
            )
            for summary in group.cells {
                let loud = summary.oversold.mean > 0 || summary.runsWithViolations > 0
                html.append(
                    "<tr\(loud ? " class=\"broken\"" : "")><td><span class=\"swatch\" style=\"background:\(Self.colour(of: summary.cell.strategy))\"></span>"
                        + "\(summary.cell.strategy.rawValue.htmlEscaped)</td><td>\(summary.count)</td>"
                        + "<td>\(summary.sold.formatted(digits: 1).htmlEscaped) / \(summary.initialStock)</td>"
                        + "<td>\(summary.oversold.formatted(digits: 1).htmlEscaped)</td>"
                        + "<td>\(summary.undersold.formatted(digits: 1).htmlEscaped)</td><td>\(summary.aborts.formatted(digits: 0).htmlEscaped)</td>"
                        + "<td>\(summary.throughputPerSec.formatted(digits: 0).htmlEscaped)</td>"
                        + "<td>\(summary.p50.formatted(digits: 1).htmlEscaped)</td><td>\(summary.p99.formatted(digits: 1).htmlEscaped)</td>"
                        + "<td>\(Self.violationText(summary).htmlEscaped)</td></tr>"
                )
            }
            html.append("</tbody></table>")
        }
        html.append("</section>")
        if !traces.isEmpty {
            html.append("<section id=\"race\"><h2>The race, traced</h2>")
            html.append(
                "<p class=\"lede\">Each cell's first run, every attempt traced (traces/ in this folder; racelab explain tells the same story). "
                    + "One lane per database session; the two buyers of the first lost update are outlined in red.</p>"
            )
            for (index, traced) in traces.enumerated() {
                html.append("<h3>\(index + 1). \(traced.label.htmlEscaped)</h3>")
                html.append(TracePage.section(trace: traced.file, story: RaceStory(traced.file)))
            }
            html.append("</section>")
        }
        html.append("<section><h2>Spec</h2><pre>\(record.specText.htmlEscaped)</pre></section>")
        html.append("</main></body></html>")
        return html.joined(separator: "\n") + "\n"
    }

    private static let css = """
        body{margin:0;background:#f6f6f4;color:#1d1d1f;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        main{max-width:1240px;margin:0 auto;padding:24px 28px 48px}
        h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
        h3{font-size:16px;margin:20px 0 6px}.lede{color:#555;margin-top:0}
        table{border-collapse:collapse;background:#fff;margin:6px 0 12px}th,td{padding:5px 10px;border:1px solid #e0e0e0;text-align:left}
        table.results td:not(:first-child),table.results th:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
        table.facts th{background:#fafafa;font-weight:600}tr.broken td{color:#b00020;font-weight:600}
        .swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
        .charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:6px}
        svg.chart{display:block;max-width:100%;height:auto}
        pre{background:#fff;border:1px solid #e0e0e0;padding:12px;overflow:auto;font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}
        """
}
