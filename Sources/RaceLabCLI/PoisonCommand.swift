import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `racelab poison`: feeds the workers malformed requests and checks each lands in the dead-letter queue.
struct PoisonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poison",
        abstract: "Publish malformed requests and check every one is dead-lettered with its reason, no order written, no worker lost.",
        discussion: """
            Each message breaks one thing (not JSON, a string item id, an item that does not exist, a negative or \
            missing item id, bytes that are not UTF-8, an unknown strategy, quantity 0, a JSON array, 5000 bytes, \
            a boolean buyer id, an empty body). They stay in racelab.purchases.dlq for `racelab dlq` unless \
            --purge-after is given. Exit status 1 when any was not dead-lettered, an order was written or a worker died.
            """
    )

    @OptionGroup var lab: LabOptions

    @OptionGroup var workers: WorkerOptions<Defaults>

    @OptionGroup var timeout: TimeoutOption<Defaults>

    @Flag(help: "Remove this run's poison messages from the dead-letter queue afterwards.")
    var purgeAfter = false

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    func run() throws {
        let report = try poison()
        switch format {
        case .table:
            print(report.table())
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        if let problem = report.problem { throw CLIError(message: problem) }
    }

    /// Poison's defaults: a few consumers are enough, and a dead letter comes quickly.
    enum Defaults: WorkerDefaults, TimeoutDefaults {
        static let workers = 1
        static let consumers = 2
        static let timeout: Double = 15
        static let timeoutHelp = "Seconds to wait for every message to reach the dead-letter queue."
    }

    /// Gets workers consuming (started here, or already running), clears leftovers, fires the poison, stops the local workers.
    private func poison() throws -> PoisonReport {
        let logger = lab.makeLogger(label: "racelab.poison")
        let servers = try lab.servers(logger: logger)
        let runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)

        let pool = try lab.prepareWorkers(count: workers.count, consumers: workers.consumers, servers: servers, runner: runner, logger: logger)
        defer { pool?.stop() }

        let poison = try PoisonRun(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)
        let report = try poison.run(timeoutSeconds: timeout.seconds) {
            if let pool { return pool.failure() == nil }
            return try runner.consumerCount() > 0
        }
        if purgeAfter {
            let removed = try poison.deadLetters.remove(messageIds: Set(report.messages.map(\.messageId)))
            logger.info("Removed the poison from the dead-letter queue", metadata: ["lab.removed": "\(removed)"])
        }
        return report
    }
}
