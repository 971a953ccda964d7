import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct MatrixReportTests {
    @Test func csvQuotesFieldsWithCommasQuotesAndLineBreaks() {
        #expect(CSVWriter.quoted("plain") == "plain")
        #expect(CSVWriter.quoted("a,b") == "\"a,b\"")
        #expect(CSVWriter.quoted("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVWriter.quoted("two\nlines") == "\"two\nlines\"")
        var writer = CSVWriter()
        writer.append(["x", "y,z"])
        #expect(writer.text == "x,\"y,z\"\r\n")
    }

    @Test func csvHasAHeaderAndOneRowPerStampede() {
        var record = SyntheticMatrix.contention(repetitions: 2)
        record.name = "last item, \"hot\""
        let lines = MatrixReport(record: record).csv().components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == record.entries.count + 1)
        #expect(lines[0] == MatrixReport.csvHeader.joined(separator: ","))
        #expect(lines[0].hasPrefix("matrixRunId,name,strategy,buyers,stock,items,workers,consumers,thinkMs,repetition,seed,sold,oversold"))
        #expect(lines[1].hasPrefix("1,\"last item, \"\"hot\"\"\",naive,100,1,1,1,4,5,1,43,"))
        #expect(lines[1].split(separator: ",").count == MatrixReport.csvHeader.count + 1)  // the name holds one comma
    }

    @Test func cellSummariesGiveMeanAndIntervalPerCell() throws {
        let record = SyntheticMatrix.contention(repetitions: 3)
        let report = MatrixReport(record: record)
        #expect(report.cells.count == StrategyName.builtIn.count * 4)  // every strategy at 1, 2, 4, 8 workers
        let naive = try #require(report.cells.first { $0.cell.strategy == .naive && $0.cell.workers == 8 })
        #expect(naive.count == 3)
        #expect(naive.oversold.mean > 0)
        #expect(naive.throughputPerSec.ci95 != nil)
        #expect(naive.runsWithViolations == 3)
        let pessimistic = try #require(report.cells.first { $0.cell.strategy == .pessimistic && $0.cell.workers == 8 })
        #expect(pessimistic.sold.mean == 1)
        #expect(pessimistic.oversold.ci95 == 0)
        #expect(pessimistic.latencyCurve.count == LatencySummary.curvePercentiles.count)
    }

    @Test func markdownHasEveryCellTheEnvironmentAndTheNotes() {
        let record = SyntheticMatrix.contention()
        let markdown = MatrixReport(record: record).markdown()
        #expect(markdown.contains("# contention — matrix run #1"))
        #expect(markdown.contains("PostgreSQL 15.8"))
        for cell in Set(record.entries.map(\.cell)) {
            #expect(markdown.contains("### \(cell.stampedeLabel)"))
            #expect(markdown.contains("| \(cell.strategy.rawValue) | 3 |"))
        }
        #expect(markdown.contains("naive oversold in 12 of 12 runs"))
        #expect(markdown.contains("pessimistic never oversold"))
        #expect(markdown.contains("workers: [1, 2, 4, 8]"))
    }

    @Test func htmlIsSelfContainedWithEveryChart() {
        let html = MatrixReport(record: SyntheticMatrix.contention()).html()
        for needle in ["src=\"http", "href=\"http", "src='http", "href='http", "<script", "@import", "url("] {
            #expect(!html.contains(needle), "found \(needle)")
        }
        #expect(!html.contains("http://") && !html.contains("https://"))
        #expect(html.contains("<svg"))
        let ids = ["chart-oversold", "chart-throughput", "chart-p99"] + StrategyName.builtIn.map { "chart-latency-\($0.rawValue)" }
        for id in ids { #expect(html.contains("<svg id=\"\(id)\""), "missing \(id)") }
        #expect(html.contains("database sessions (workers × consumers)"))
        #expect(html.components(separatedBy: "<svg").count - 1 == ids.count)
        #expect(html.components(separatedBy: "</svg>").count - 1 == ids.count)
    }

    @Test func htmlAndMarkdownEscapeText() {
        var record = SyntheticMatrix.contention(repetitions: 1)
        record.name = "<script>alert('x')</script>"
        record.specText = "name: \"<script>alert(1)</script>\" & more\n"
        let html = MatrixReport(record: record).html()
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(html.contains("&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; &amp; more"))
        #expect(!MatrixReport(record: record).markdown().contains("# <script>"))
    }

    @Test func contentionAxisPicksTheFirstVaryingKnob() {
        func cells(_ change: (inout MatrixCell, Int) -> Void) -> [MatrixCell] {
            (1...3).map { value in
                var cell = MatrixCell(strategy: .naive, buyers: 100, stock: 1, items: 1, workers: 4, consumers: 4, thinkMs: 0)
                change(&cell, value)
                return cell
            }
        }
        let workers = ContentionAxis(cells: cells { $0.workers = $1 })
        #expect(workers.knobs == [.workers])
        #expect(workers.labels == ["4", "8", "12"])
        #expect(ContentionAxis(cells: cells { $0.stock = $1 * 10 }).knobs == [.stock])
        #expect(
            ContentionAxis(
                cells: cells {
                    $0.thinkMs = $1
                    $0.items = $1
                }
            ).knobs == [.items]
        )
        let none = ContentionAxis(cells: cells { _, _ in })
        #expect(none.knobs.isEmpty)
        #expect(none.labels == ["b=100 s=1 i=1 w=4 c=4 t=0"])
    }

    @Test func writeCreatesTheFolderWithAllFourFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-report-\(getpid())/matrix-1")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let record = SyntheticMatrix.contention()
        let urls = try MatrixReport(record: record).write(to: directory)
        #expect(urls.map(\.lastPathComponent) == ["report.md", "report.html", "runs.csv", "runs.json"])
        for url in urls { #expect(FileManager.default.fileExists(atPath: url.path)) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let decoded = try decoder.decode(MatrixRunRecord.self, from: Data(contentsOf: directory.appendingPathComponent("runs.json")))
        #expect(decoded == record)
        let text = try String(contentsOf: directory.appendingPathComponent("runs.json"), encoding: .utf8)
        #expect(text.contains("\"startedAt\" : \"2025-10-09T"))
        // For looking at a report in a browser: RACELAB_REPORT_PREVIEW=DIR [RACELAB_REPORT_PREVIEW_RECORD=runs.json].
        let environment = ProcessInfo.processInfo.environment
        if let preview = environment["RACELAB_REPORT_PREVIEW"] {
            let shown = try environment["RACELAB_REPORT_PREVIEW_RECORD"].map {
                try decoder.decode(MatrixRunRecord.self, from: Data(contentsOf: URL(fileURLWithPath: $0)))
            }
            try MatrixReport(record: shown ?? record).write(to: URL(fileURLWithPath: preview))
        }
    }
}
