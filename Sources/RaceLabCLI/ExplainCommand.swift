import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import Sandbox

/// `racelab explain`: the story of a traced run in plain words, or as a page with its timeline.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Tell the story of a traced run (racelab run --trace FILE): the first lost update step by step, the lock queue, the conflicts.",
        discussion: """
            Everything it says is derived from the attempts the workers observed: which buyer read which stock on which \
            database session and when, what it wrote, how long it waited for a lock. --html prints a self-contained page \
            with the story above a timeline (one swimlane per database session, the first lost update outlined in red).
            """
    )

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case text, json, html
    }

    @Argument(help: "A trace file written by racelab run --trace.")
    var file: String

    @Option(help: "text, json or html.")
    var format: Format = .text

    @Flag(help: "The same as --format html: a page with the story and the timeline.")
    var html = false

    @Option(help: "Write to this file instead of standard output.")
    var output: String?

    func validate() throws {
        if html && format == .json { throw ValidationError("--html and --format json: choose one") }
        if let output, let problem = WritablePath.problemWithFile(output, option: "--output") { throw ValidationError(problem) }
    }

    func run() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError(message: "\(file) is a directory; name a trace file (racelab run --trace FILE writes one)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw CLIError(message: "cannot read \(file): \(fileErrorCause(error))")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw CLIError(message: "\(file): not text (not UTF-8), so not a trace written by racelab run --trace")
        }
        let trace: TraceFile
        do {
            trace = try TraceFile(parsing: text)
        } catch {
            throw CLIError(message: "\(file): \(error.reason)")
        }
        let story = RaceStory(trace)
        let rendered: String
        switch html ? .html : format {
        case .text:
            rendered = story.text + "\n"
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            rendered = String(decoding: try encoder.encode(story), as: UTF8.self) + "\n"
        case .html:
            rendered = TracePage.html(trace: trace, story: story)
        }
        guard let output else { return print(rendered, terminator: "") }
        do {
            try Data(rendered.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CLIError(message: "--output: cannot write \(output): \(fileErrorCause(error))")
        }
    }
}
