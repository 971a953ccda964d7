import RaceLabCore
import RaceLabLab
import RaceLabPipeline

extension MatrixReport {
    /// `report.md`: title, environment, one table per stampede (a row per strategy), notes, and the spec.
    public func markdown() -> String {
        var lines: [String] = []
        lines.append("# \(Self.markdownText(record.name)) — matrix run #\(record.id)")
        lines.append("")
        lines.append("Every figure is the mean over a cell's repetitions ± the half-width of its 95% confidence interval (Student's t);")
        lines.append("a cell with one repetition shows its one value.")
        lines.append("")
        lines.append("## Environment")
        lines.append("")
        lines.append("| | |")
        lines.append("| --- | --- |")
        for (name, value) in environmentFacts { lines.append("| \(name) | \(Self.markdownText(value)) |") }
        lines.append("")
        lines.append("## Results")
        for group in stampedeGroups {
            lines.append("")
            lines.append("### \(group.stampede.stampedeLabel)")
            lines.append("")
            lines.append(
                "\(group.stampede.buyers) buyers, \(group.stampede.items) item(s) × \(group.stampede.stock) stock, "
                    + "\(group.stampede.workers) worker(s) × \(group.stampede.consumers) consumers, think \(group.stampede.thinkMs) ms, "
                    + "isolation \(group.stampede.isolation.rawValue)"
            )
            lines.append("")
            lines.append(
                "| strategy | runs | sold / stock | oversold (mean) | undersold (mean) | aborts (mean) | req/s | p50 ms | p99 ms | violations |"
            )
            lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
            for summary in group.cells {
                lines.append(
                    "| \(summary.cell.strategy.rawValue) | \(summary.count) | \(summary.sold.formatted(digits: 1)) / \(summary.initialStock) "
                        + "| \(summary.oversold.formatted(digits: 1)) | \(summary.undersold.formatted(digits: 1)) "
                        + "| \(summary.aborts.formatted(digits: 0)) | \(summary.throughputPerSec.formatted(digits: 0)) "
                        + "| \(summary.p50.formatted(digits: 1)) | \(summary.p99.formatted(digits: 1)) | \(Self.violationText(summary)) |"
                )
            }
        }
        lines.append("")
        lines.append("## Notes")
        lines.append("")
        for note in notes { lines.append("- \(Self.markdownText(note))") }
        lines.append("")
        lines.append("## Spec")
        lines.append("")
        let fence = record.specText.contains("```") ? "~~~~" : "```"
        lines.append("\(fence)yaml")
        lines.append(record.specText.hasSuffix("\n") ? String(record.specText.dropLast()) : record.specText)
        lines.append(fence)
        lines.append("")
        lines.append("Files: `report.html` (charts), `runs.csv` (one row per stampede), `runs.json` (everything).")
        lines.append("")
        return lines.joined(separator: "\n")
    }

    static func violationText(_ summary: CellSummary) -> String {
        summary.runsWithViolations == 0 ? "ok" : "\(summary.runsWithViolations) of \(summary.count) runs broke invariants"
    }

    /// Text safe in a Markdown table cell or heading: pipes and HTML-looking brackets escaped, line breaks flattened.
    static func markdownText(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
