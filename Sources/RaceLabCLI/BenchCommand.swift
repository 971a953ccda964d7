import ArgumentParser
import Foundation
import RaceLab

/// `racelab bench`: the pipeline against PostgreSQL's own limit on the same hot-row transaction.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the pipeline against pgbench on the same hot-row transaction and print the ratio.",
        discussion: """
            Each round fires a stampede of --buyers requests at one item that never sells out, through RabbitMQ and \
            the workers, then runs pgbench with as many clients as the workers have database sessions on the same \
            transaction (BEGIN; SELECT … FOR UPDATE; UPDATE; INSERT; COMMIT) on the same server, and once more with \
            those statements pipelined in one round trip. Rounds alternate so both see the same machine. The ratio is \
            pipeline req/s over pgbench tx/s.
            """
    )

    @OptionGroup var lab: LabOptions

    @Option(help: "The strategy the pipeline runs (pgbench always runs the pessimistic transaction).")
    var strategy: StrategyChoice = .pessimistic

    @Option(parsing: .unconditional, help: "Buyers per stampede, one purchase each; pgbench runs as many transactions.")
    var buyers: Int = 20_000

    @Option(parsing: .unconditional, help: "Local worker processes (0: use workers already running; their CPU is then not counted).")
    var workers: Int = 1

    @Option(parsing: .unconditional, help: "Consumer threads per worker; workers × consumers is the concurrency on the hot row.")
    var consumers: Int = 4

    @Option(parsing: .unconditional, help: "Rounds of pipeline-then-pgbench.")
    var rounds: Int = 3

    @Flag(help: "Skip the pipelined pgbench run (the server's ceiling).")
    var noPipelinedPgbench = false

    @Option(parsing: .unconditional, help: "Seconds without any new outcome before a stampede is declared stuck.")
    var timeout: Double = 30

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    /// Stock of the hot item: more than any stampede can buy, so nobody is ever turned away.
    static let hotStock = 1_000_000_000

    var stampede: StampedeConfiguration {
        StampedeConfiguration(
            buyers: buyers,
            stock: Self.hotStock,
            items: 1,
            workers: workers,
            consumersPerWorker: consumers,
            idleTimeoutSeconds: timeout
        )
    }

    func validate() throws {
        if let problem = stampede.problem { throw ValidationError(problem) }
        if strategy == .all { throw ValidationError("--strategy: bench runs one strategy at a time, not all") }
        if !(1...100).contains(rounds) { throw ValidationError("--rounds must be in 1...100 (got \(rounds))") }
        if workers == 0 && consumers != 4 { throw ValidationError("--consumers needs local workers (--workers 1 or more)") }
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.bench")
        let pgbench = try Pgbench()
        let configuration = stampede
        let servers = try lab.servers(logger: logger)
        let runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)
        let pool = try lab.prepareWorkers(
            count: configuration.workers,
            consumers: configuration.consumersPerWorker,
            servers: servers,
            runner: runner,
            logger: logger
        )
        defer { pool?.stop() }
        // With external workers the concurrency is whatever consumes the queue.
        let sessions = workers > 0 ? workers * consumers : try runner.consumerCount()

        let plan = StampedePlan(buyers: buyers, items: 1, seed: configuration.seed)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        var rounds: [BenchReport.Round] = []
        for round in 1...self.rounds {
            let watched = pool?.processIdentifiers ?? []
            let before = CPUSample.now(watching: watched)
            let report = try runner.run(
                strategy: strategy.strategies[0],
                configuration: configuration,
                plan: plan,
                tick: { pool?.replaceDeadWorkers() },
                progress: { settled, total in progress.update("round \(round)/\(self.rounds): pipeline \(settled)/\(total) settled") }
            )
            let after = CPUSample.now(watching: watched + (pool?.processIdentifiers ?? []))
            guard report.outcomes.indeterminate == 0 else {
                throw CLIError(
                    message: "round \(round): \(report.outcomes.indeterminate) of \(buyers) requests have no outcome after \(Int(timeout)) s"
                )
            }
            progress.update("round \(round)/\(self.rounds): pgbench -c \(sessions)")
            try runner.resetItems(1, stock: Self.hotStock)
            let plain = try pgbench.run(.pessimistic, postgresURL: servers.postgresURL, clients: sessions, transactions: buyers, item: 1, quantity: 1)
            var pipelined: Pgbench.Result?
            if !noPipelinedPgbench {
                progress.update("round \(round)/\(self.rounds): pgbench -c \(sessions), pipelined")
                try runner.resetItems(1, stock: Self.hotStock)
                pipelined = try pgbench.run(
                    .pessimisticPipelined,
                    postgresURL: servers.postgresURL,
                    clients: sessions,
                    transactions: buyers,
                    item: 1,
                    quantity: 1
                )
            }
            progress.clear()
            rounds.append(
                BenchReport.Round(
                    round: round,
                    report: report,
                    pgbench: plain,
                    pgbenchPipelined: pipelined,
                    cpu: CPUSample.ownShare(from: before, to: after)
                )
            )
        }
        try runner.resetItems(1, stock: 0)  // leave no benchmark orders behind

        let result = BenchReport(
            strategy: strategy.strategies[0],
            buyers: buyers,
            workers: workers,
            consumersPerWorker: workers > 0 ? consumers : sessions,
            rounds: rounds,
            harnessPeakBytes: peakResidentBytes()
        )
        switch format {
        case .table:
            print(result.render())
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        }
        if let broken = rounds.first(where: { !$0.violations.isEmpty }) {
            throw CLIError(message: "round \(broken.round): invariants broken: \(broken.violations[0])")
        }
    }
}
