import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `racelab dlq`: lists the dead letters and why each is there, without taking them off the queue; or empties it.
struct DeadLetterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List the requests in racelab.purchases.dlq with their reasons (they stay queued), or --purge them.",
        discussion: """
            A worker dead-letters a request it cannot serve with the reason in the x-racelab-reason header; \
            RabbitMQ dead-letters one over the delivery limit with x-first-death-reason.
            """
    )

    @OptionGroup var lab: LabOptions

    @Option(parsing: .unconditional, help: "Dead letters to list at most, in queue order (default 100; not with --purge).")
    var limit: Int?

    @Flag(help: "Remove every dead letter and say how many.")
    var purge = false

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    func validate() throws {
        if let limit, !(1...65_535).contains(limit) { throw ValidationError("--limit must be in 1...65535 (got \(limit))") }
        // A purge removes the whole queue; a limit would suggest it removes only some.
        if purge, limit != nil { throw ValidationError("--purge removes every dead letter; drop --limit (it applies to listing)") }
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.dlq")
        let servers = try lab.servers(logger: logger)
        let queue = try DeadLetterQueue(amqpURL: servers.amqpURL, logger: logger)
        if purge {
            let removed = try queue.purge()
            switch format {
            case .table: print("removed \(removed) dead letter(s) from \(Topology.deadLetters)")
            case .json: print("{\"removed\":\(removed)}")
            }
            return
        }
        let total = try queue.count()
        let letters = try queue.browse(limit: limit ?? 100)
        switch format {
        case .table:
            print(Self.table(letters, total: total))
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(letters.isEmpty ? "[]" : String(decoding: try encoder.encode(letters), as: UTF8.self))
        }
    }

    /// One row per dead letter: when, message id, worker, reason, and the start of the body.
    static func table(_ letters: [DeadLetter], total: Int) -> String {
        guard !letters.isEmpty else { return "no dead letters in \(Topology.deadLetters)" }
        let shown = letters.count < total ? "showing the first \(letters.count)" : "all shown"
        var lines = ["\(total) dead letter(s) in \(Topology.deadLetters) (\(shown))"]
        let header = ["dead-lettered at", "message id", "worker", "reason", "body"]
        let rows = letters.map { letter in
            [
                letter.deadLetteredAt.map(Self.timestamp) ?? "-", letter.messageId ?? "-", letter.worker ?? "-", letter.reason,
                letter.displayBody(),
            ]
        }
        lines.append("")
        lines += TextTable(header: header, rows: rows).lines()
        return lines.joined(separator: "\n")
    }

    /// Nanoseconds since the epoch as local `yyyy-MM-dd HH:mm:ss.SSS`.
    private static func timestamp(_ nanoseconds: UInt64) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return formatter.string(from: Date(timeIntervalSince1970: Double(nanoseconds) / 1e9))
    }
}
