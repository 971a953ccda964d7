import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `racelab runs`: the matrix runs in the result store.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the matrix runs in the result store (ids for racelab compare).",
        discussion: "An unfinished run (interrupted, or still going) shows '-' as its duration."
    )

    @OptionGroup var lab: LabOptions

    @Option(help: "The result store (default: <lab home>/results.sqlite).")
    var store: String?

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    func run() throws {
        let path = store ?? ResultStore.defaultPath(home: lab.homeURL)
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError(message: "no result store at \(path) yet; run `racelab matrix experiments/last-item.yaml` first")
        }
        let runs = try ResultStore(path: path).matrixRuns()
        switch format {
        case .table:
            print(Self.table(runs))
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(runs), as: UTF8.self))
        }
    }

    /// One row per matrix run, oldest first.
    static func table(_ runs: [MatrixRunSummary]) -> String {
        let dates = DateFormatter()
        dates.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let header = ["id", "name", "quick", "started", "duration", "runs", "PostgreSQL", "RabbitMQ"]
        let rows = runs.map { run -> [String] in
            [
                "\(run.id)", run.name, run.quick ? "yes" : "no", dates.string(from: run.startedAt),
                run.durationSeconds.map { MatrixProgress.clock($0) } ?? "-",
                run.runs == run.plannedRuns || run.plannedRuns == 0 ? "\(run.runs)" : "\(run.runs)/\(run.plannedRuns)",
                run.environment.postgresVersion, run.environment.rabbitmqVersion,
            ]
        }
        let lines = TextTable(header: header, rows: rows).lines()
        return lines.joined(separator: "\n")
    }
}
