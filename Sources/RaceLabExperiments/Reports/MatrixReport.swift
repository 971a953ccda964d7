import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// The report folder of one matrix run: `report.md`, `report.html` (self-contained, inline SVG charts),
/// `runs.csv` (one row per stampede) and `runs.json` (the whole record).
///
/// Repetitions of a cell are summed up as mean ± 95% confidence interval (Student's t), never a single number.
public struct MatrixReport: Sendable {
    public var record: MatrixRunRecord
    /// One summary per cell, in cell order.
    public var cells: [CellSummary]
    /// Traced runs (a spec with `trace: true`), with the label of their cell: report.html tells their
    /// race and draws their timelines, and each is kept as `traces/<n>-<strategy>.jsonl`.
    public var traces: [(label: String, file: TraceFile)] = []

    public init(record: MatrixRunRecord) {
        self.record = record
        self.cells = CellSummary.summaries(of: record.entries)
    }

    /// Writes the four report files into `directory` (created if missing) and returns their URLs:
    /// report.md, report.html, runs.csv, runs.json. Throws what writing a file throws.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files: [(String, Data)] = [
            ("report.md", Data(markdown().utf8)),
            ("report.html", Data(html().utf8)),
            ("runs.csv", Data(csv().utf8)),
            ("runs.json", try json()),
        ]
        var traceFiles: [(String, Data)] = []
        if !traces.isEmpty {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("traces"), withIntermediateDirectories: true)
            for (index, traced) in traces.enumerated() {
                let lines = try traced.file.lines().joined(separator: "\n") + "\n"
                traceFiles.append(("traces/\(index + 1)-\(traced.file.run.strategy.rawValue).jsonl", Data(lines.utf8)))
            }
        }
        return try (files + traceFiles).map { name, data in
            let url = directory.appendingPathComponent(name)
            try data.write(to: url, options: .atomic)
            return url
        }
    }

    /// The record as pretty JSON with sorted keys and ISO-8601 dates.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(record)
    }

    /// Cells grouped by the stampede they share (every knob but the strategy), strategies in their usual order.
    var stampedeGroups: [(stampede: MatrixCell, cells: [CellSummary])] {
        let groups = Dictionary(grouping: cells) { CellKnob.strategy.erased(in: $0.cell) }
        return groups.keys.sorted().map { key in (key, groups[key, default: []].sorted { $0.cell.strategy < $1.cell.strategy }) }
    }

    /// Strategies present in the run, in their usual order.
    var strategies: [StrategyName] {
        Set(cells.map(\.cell.strategy)).sorted()
    }

    /// Plain-word notes on who oversold or broke invariants.
    var notes: [String] {
        var notes: [String] = []
        for strategy in strategies {
            let runs = record.entries.filter { $0.cell.strategy == strategy }
            let oversold = runs.filter { $0.report.oversold > 0 }
            let broken = runs.filter { !$0.report.violations.isEmpty }
            if !oversold.isEmpty {
                let worst = oversold.map(\.report.oversold).max() ?? 0
                let exact = StrategyCatalog.builtIn(strategy)?.traits.expectation == .exact
                let locked = exact ? " — this strategy should never oversell: look for a bug" : ""
                notes.append("\(strategy.rawValue) oversold in \(oversold.count) of \(runs.count) runs (by up to \(worst))\(locked).")
            } else if !broken.isEmpty {
                notes.append("\(strategy.rawValue) broke invariants in \(broken.count) of \(runs.count) runs without overselling.")
            } else {
                notes.append("\(strategy.rawValue) never oversold in \(runs.count) runs and kept every invariant.")
            }
        }
        for strategy in strategies {
            let runs = record.entries.filter { $0.cell.strategy == strategy }
            let undersold = runs.filter { $0.report.undersold > 0 }
            if !undersold.isEmpty {
                let worst = undersold.map(\.report.undersold).max() ?? 0
                notes.append(
                    "\(strategy.rawValue) undersold in \(undersold.count) of \(runs.count) runs (up to \(worst) units left while buyers were turned away)."
                )
            }
        }
        let indeterminate = record.entries.filter { $0.report.outcomes.indeterminate > 0 }
        if !indeterminate.isEmpty {
            notes.append("\(indeterminate.count) runs have requests without an outcome (indeterminate): their figures are partial.")
        }
        return notes
    }

    /// Environment facts as (name, value) pairs.
    var environmentFacts: [(String, String)] {
        let environment = record.environment
        let formatter = ISO8601DateFormatter()
        var facts: [(String, String)] = [
            ("matrix run", "#\(record.id)\(record.quick ? " (quick)" : "")"),
            ("started", formatter.string(from: record.startedAt)),
        ]
        if let finished = record.finishedAt {
            facts.append(("finished", "\(formatter.string(from: finished)) (\(Int(finished.timeIntervalSince(record.startedAt).rounded())) s)"))
        } else {
            facts.append(("finished", "not finished"))
        }
        facts += [
            ("stampedes", "\(record.entries.count) in \(cells.count) cells"),
            ("PostgreSQL", environment.postgresVersion),
            ("RabbitMQ", environment.rabbitmqVersion),
            ("racelab", environment.racelabVersion),
            (
                "host",
                "\(environment.hostname), \(environment.cpuCount) CPUs, \(String(format: "%.1f", Double(environment.memoryBytes) / 1_073_741_824)) GiB"
            ),
            ("system", environment.operatingSystem),
        ]
        return facts
    }

    /// One colour per strategy, the same in every chart.
    static func colour(of strategy: StrategyName) -> String {
        let builtIn = [
            StrategyName.naive: "#d62728", .pessimistic: "#1f77b4", .optimistic: "#2ca02c", .advisory: "#9467bd", .batched: "#8c564b",
            .atomic: "#17becf", .nowait: "#ff7f0e", .skipLocked: "#bcbd22", .serialized: "#e377c2",
        ]
        if let colour = builtIn[strategy] { return colour }
        // A strategy from a file: a grey shade of its own, stable for its name.
        let shade = strategy.rawValue.utf8.reduce(UInt32(7)) { $0 &* 31 &+ UInt32($1) } % 5
        return ["#7f7f7f", "#5f5f5f", "#9f9f9f", "#3f3f3f", "#afafaf"][Int(shade)]
    }
}
