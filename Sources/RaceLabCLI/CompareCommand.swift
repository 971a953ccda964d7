import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `racelab compare`: two matrix runs, or two strategies within one, side by side cell by cell.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Put two matrix runs (or two strategies within one) side by side, cell by cell, with whether each change is beyond noise.",
        discussion: """
            A and B are matrix run ids (racelab runs lists them). Cells pair up when all their knobs are equal; \
            --match-ignoring thinkMs pairs cells that differ only in think time. With --strategies S1,S2 and one id, \
            each cell of S1 is compared with the same stampede under S2. A change is beyond noise only when both sides \
            have at least 2 repetitions, Welch's t-test gives p < 0.01, and it exceeds 10% (20% for p99). Exit status 0 \
            whatever the verdicts.
            """
    )

    @OptionGroup var lab: LabOptions

    @Argument(help: "Matrix run A.")
    var a: Int64

    @Argument(help: "Matrix run B (omit with --strategies).")
    var b: Int64?

    @Option(help: "Two strategies to compare within matrix run A, e.g. pessimistic,optimistic.")
    var strategies: String?

    @Option(name: .customLong("match-ignoring"), help: "Pair cells that differ only in this knob: buyers, stock, items, workers, consumers, thinkMs.")
    var matchIgnoring: String?

    @Option(help: "The result store (default: <lab home>/results.sqlite).")
    var store: String?

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    func validate() throws {
        if strategies == nil && b == nil { throw ValidationError("give two matrix run ids (racelab compare A B) or one and --strategies S1,S2") }
        if strategies != nil && b != nil { throw ValidationError("--strategies compares within one matrix run: give one id, not two") }
        if strategies != nil && matchIgnoring != nil {
            throw ValidationError("--match-ignoring pairs cells of two matrix runs; it does not go with --strategies")
        }
        _ = try ignoredKnob()
        _ = try strategyPair()
    }

    func run() throws {
        let path = store ?? ResultStore.defaultPath(home: lab.homeURL)
        let recordA = try Self.matrixRun(a, storePath: path)
        let comparison: RunComparison
        let titles: (String, String)
        if let (first, second) = try strategyPair() {
            comparison = RunComparison(entries: recordA.entries, strategyA: first, strategyB: second)
            titles = ("\(Self.title(recordA)), \(first.rawValue)", "\(Self.title(recordA)), \(second.rawValue)")
        } else {
            let recordB = try Self.matrixRun(b ?? a, storePath: path)
            var knob = try ignoredKnob()
            var compared = RunComparison(a: recordA.entries, b: recordB.entries, ignoring: knob)
            if knob == nil && compared.rows.isEmpty, let found = RunComparison.differingKnob(recordA.entries, recordB.entries) {
                // The runs differ in one knob (say thinkMs was edited): pair cells across it, and say so.
                knob = found
                compared = RunComparison(a: recordA.entries, b: recordB.entries, ignoring: found)
                FileHandle.standardError.write(Data("racelab: no cell matches exactly; pairing cells that differ only in \(found.rawValue)\n".utf8))
            }
            comparison = compared
            titles = (Self.title(recordA), Self.title(recordB))
        }
        switch format {
        case .table:
            print(ComparisonTable(comparison: comparison, titleA: titles.0, titleB: titles.1, colour: isatty(STDOUT_FILENO) == 1).render())
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(comparison.rows), as: UTF8.self))
            let unmatched = comparison.unmatchedA.count + comparison.unmatchedB.count
            if unmatched > 0 {
                FileHandle.standardError.write(Data("racelab: \(unmatched) cells had no partner and are not in the output\n".utf8))
            }
        }
    }

    /// Reads one matrix run from the result store; a one-line error when the store or the run does not exist.
    static func matrixRun(_ id: Int64, storePath: String) throws -> MatrixRunRecord {
        guard FileManager.default.fileExists(atPath: storePath) else {
            throw CLIError(message: "no result store at \(storePath) yet; run `racelab matrix experiments/last-item.yaml` first")
        }
        guard let record = try ResultStore(path: storePath).matrixRun(id: id) else {
            throw CLIError(message: "no matrix run \(id) in \(storePath) (racelab runs lists them)")
        }
        return record
    }

    static func title(_ record: MatrixRunRecord) -> String {
        let dates = DateFormatter()
        dates.dateFormat = "yyyy-MM-dd HH:mm"
        return "matrix run \(record.id) \(record.name)\(record.quick ? " (quick)" : ""), \(dates.string(from: record.startedAt))"
    }

    /// `--match-ignoring`, accepting `thinkMs`, `think-ms` or `think` in any case.
    func ignoredKnob() throws -> CellKnob? {
        guard let matchIgnoring else { return nil }
        let wanted = matchIgnoring.lowercased().replacingOccurrences(of: "-", with: "")
        let knobs = CellKnob.allCases.filter { $0 != .strategy }
        guard let knob = knobs.first(where: { $0.rawValue.lowercased() == wanted || ($0 == .thinkMs && wanted == "think") }) else {
            throw ValidationError("--match-ignoring must be one of \(knobs.map(\.rawValue).joined(separator: ", ")) (got '\(matchIgnoring)')")
        }
        return knob
    }

    /// `--strategies S1,S2` as two distinct strategies.
    func strategyPair() throws -> (StrategyName, StrategyName)? {
        guard let strategies else { return nil }
        let names = strategies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let parsed = names.compactMap(StrategyName.init(rawValue:))
        guard names.count == 2, parsed.count == 2, parsed[0] != parsed[1] else {
            throw ValidationError(
                "--strategies must name two different strategies of the run, e.g. \(StrategyName.builtIn.map(\.rawValue).joined(separator: ", ")) "
                    + "(got '\(strategies)')"
            )
        }
        return (parsed[0], parsed[1])
    }
}
