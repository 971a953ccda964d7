import ArgumentParser
import Foundation
import RaceLab

/// `racelab run`: fires one stampede at one strategy, or the identical stampede at each.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Fire a stampede of buyers at a purchase strategy and report oversells, latency and throughput.",
        discussion: """
            All requests are published while the workers are gated, then released at once. With --strategy all the \
            identical stampede (same seed, same buyer order) runs against each strategy and one table compares them.
            """
    )

    @OptionGroup var lab: LabOptions

    @Option(help: "naive, pessimistic, optimistic, advisory, or all.")
    var strategy: StrategyChoice

    @Option(parsing: .unconditional, help: "Buyers in the stampede, one request each.")
    var buyers: Int

    @Option(parsing: .unconditional, help: "Stock of each item before the run.")
    var stock: Int

    @Option(parsing: .unconditional, help: "Items the buyers are spread over evenly.")
    var items: Int = 1

    @Option(parsing: .unconditional, help: "Local worker processes to start for the run (0: use workers already running).")
    var workers: Int = 4

    @Option(parsing: .unconditional, help: "Consumer threads per local worker.")
    var consumers: Int = 4

    @Option(name: .customLong("think-ms"), parsing: .unconditional, help: "Milliseconds each strategy holds between read and write.")
    var thinkMs: Int = 0

    @Option(parsing: .unconditional, help: "Seed of the buyer order.")
    var seed: UInt64 = 42

    @Option(parsing: .unconditional, help: "Units each buyer asks for.")
    var quantity: Int = 1

    @Option(parsing: .unconditional, help: "Seconds without any new outcome before the rest are reported indeterminate.")
    var timeout: Double = 30

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    var stampede: StampedeConfiguration {
        StampedeConfiguration(
            buyers: buyers,
            stock: stock,
            items: items,
            workers: workers,
            consumersPerWorker: consumers,
            thinkMs: thinkMs,
            seed: seed,
            quantity: quantity,
            idleTimeoutSeconds: timeout
        )
    }

    func validate() throws {
        if let problem = stampede.problem { throw ValidationError(problem) }
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.run")
        let configuration = stampede
        let servers = try lab.servers(logger: logger)
        let runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)

        var pool: LocalWorkerPool?
        defer { pool?.stop() }
        if configuration.workers > 0 {
            let baseline = try runner.consumerCount()
            let started = try LocalWorkerPool(
                executable: try Self.executable(),
                count: configuration.workers,
                consumers: configuration.consumersPerWorker,
                postgresURL: servers.postgresURL,
                amqpURL: servers.amqpURL,
                logDirectory: lab.homeURL.appendingPathComponent("logs"),
                logger: logger
            )
            pool = started
            try runner.waitForConsumers(
                atLeast: baseline + configuration.workers * configuration.consumersPerWorker,
                timeoutSeconds: 30,
                failure: started.failure
            )
        } else {
            try runner.waitForConsumers(atLeast: 1, timeoutSeconds: 0)
        }
        let leftovers = try runner.purgeLeftovers()
        if leftovers > 0 {
            logger.notice("Removed requests an unfinished earlier run left on the queue", metadata: ["lab.removed": "\(leftovers)"])
        }

        let plan = StampedePlan(buyers: configuration.buyers, items: configuration.items, seed: configuration.seed)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        var reports: [RunReport] = []
        for strategy in self.strategy.strategies {
            let report = try runner.run(strategy: strategy, configuration: configuration, plan: plan) { settled, total in
                progress.update("\(strategy.rawValue): \(settled)/\(total) settled")
            }
            progress.clear()
            reports.append(report)
        }

        switch format {
        case .table:
            print(ReportTable(reports: reports, colour: isatty(STDOUT_FILENO) == 1).render())
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = self.strategy == .all ? try encoder.encode(reports) : try encoder.encode(reports[0])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// This very executable, to start workers from.
    static func executable() throws -> URL {
        guard let url = Bundle.main.executableURL else { throw CLIError(message: "cannot find the racelab executable to start workers from") }
        return url
    }
}

/// A one-line progress display on stderr, redrawn in place; silent when stderr is not a terminal.
final class ProgressLine {
    private let enabled: Bool
    private var lastDraw = Date.distantPast

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ text: String) {
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
