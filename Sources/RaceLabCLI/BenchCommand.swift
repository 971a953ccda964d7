import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `racelab bench`: the pipeline against PostgreSQL's own limit on the same hot-row transaction.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the pipeline against pgbench running the strategy's own SQL and print the ratio.",
        discussion: """
            Each round fires a stampede of --buyers requests at one item that never sells out, through RabbitMQ and \
            the workers, then runs pgbench on the same server with as many clients as the strategy has database \
            sessions on the item, on the strategy's own statements in the same round trips (pipelined where the \
            strategy pipelines). For pessimistic, pgbench runs once more with its statements in one round trip (the \
            server's ceiling). Rounds alternate so both see the same machine. The ratio is pipeline req/s over \
            pgbench purchases/s. --strategy all benchmarks each strategy in turn and ends with one row per strategy.
            """
    )

    @OptionGroup var lab: LabOptions

    @Option(help: "The strategy to measure: a built-in name (racelab strategies lists them), or all.")
    var strategy: String = StrategyName.pessimistic.rawValue

    @OptionGroup var buyers: BuyersOption<Defaults>

    @OptionGroup var workers: WorkerOptions<Defaults>

    @Option(parsing: .unconditional, help: "Rounds of pipeline and pgbench, taking turns to go first (after one warm-up of each, not reported).")
    var rounds: Int = 5

    @Flag(help: "Skip the pipelined pgbench run (the server's ceiling, with pessimistic).")
    var noPipelinedPgbench = false

    @OptionGroup var timeout: TimeoutOption<Defaults>

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    /// Stock of the hot item: more than any stampede can buy, so nobody is ever turned away.
    static let hotStock = 1_000_000_000

    var stampede: StampedeConfiguration {
        var configuration = StampedeConfiguration(options: buyers, workers, timeout)
        configuration.stock = Self.hotStock
        return configuration
    }

    /// The strategies to measure, in table order: built-ins, whose SQL pgbench can run.
    func selectedStrategies() throws -> [any PurchaseStrategy] {
        try StrategyFileOptions.select(strategy, from: StrategyCatalog())
    }

    func validate() throws {
        for selected in try selectedStrategies() where selected.traits.stock == .unitRows && buyers.count * 2 > Schema.maxUnitRows {
            throw ValidationError(
                "--buyers must be at most \(Schema.maxUnitRows / 2) to bench \(selected.name), which keeps one row per unit (got \(buyers.count))"
            )
        }
        if !(1...100).contains(rounds) { throw ValidationError("--rounds must be in 1...100 (got \(rounds))") }
        if workers.count == 0 && workers.consumers != Defaults.consumers {
            throw ValidationError("--consumers needs local workers (--workers 1 or more)")
        }
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.bench")
        let pgbench = try Pgbench()
        let strategies = try selectedStrategies()
        let servers = try lab.servers(logger: logger)
        let runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)
        let pool = try lab.prepareWorkers(
            count: workers.count,
            consumers: workers.consumers,
            servers: servers,
            runner: runner,
            logger: logger
        )
        defer { pool?.stop() }
        // With external workers the concurrency is whatever consumes the queue.
        let consumerThreads = workers.count > 0 ? workers.count * workers.consumers : try runner.consumerCount()

        var results: [BenchReport] = []
        for strategy in strategies {
            results.append(try bench(strategy, consumerThreads: consumerThreads, pgbench: pgbench, runner: runner, pool: pool, servers: servers))
        }
        try runner.resetItems(1, stock: 0)  // leave no benchmark orders behind

        switch format {
        case .table:
            print(results.map { $0.render() }.joined(separator: "\n\n"))
            if results.count > 1 { print("\n" + BenchReport.renderSummary(results)) }
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = strategy == "all" ? try encoder.encode(results) : try encoder.encode(results[0])
            print(String(decoding: data, as: UTF8.self))
        }
        // A strategy that is meant to oversell (naive) breaks invariants as its result; any other that does is a failure.
        for result in results where StrategyCatalog.builtIn(result.strategy)?.traits.expectation != .oversells {
            if let broken = result.rounds.first(where: { !$0.violations.isEmpty }) {
                throw CLIError(message: "\(result.strategy) round \(broken.round): invariants broken: \(broken.violations[0])")
            }
        }
    }

    /// The bench's defaults: big stampedes, one worker (whose CPU is measured).
    enum Defaults: BuyersDefaults, WorkerDefaults, TimeoutDefaults {
        static let buyers: Int? = 20_000
        static let buyersHelp = "Buyers per stampede, one purchase each; pgbench runs as many transactions."
        static let workers = 1
        static let consumers = 4
        static let workersHelp = "Local worker processes (0: use workers already running; their CPU is then not counted)."
        static let consumersHelp = "Consumer threads per worker; workers × consumers is the concurrency on the hot row."
        static let timeout: Double = 30
        static let timeoutHelp = "Seconds without any new outcome before a stampede is declared stuck."
    }

    /// The rounds of one strategy: a pipeline stampede, then pgbench on the strategy's own SQL, alternating.
    private func bench(
        _ strategy: any PurchaseStrategy,
        consumerThreads: Int,
        pgbench: Pgbench,
        runner: StampedeRunner,
        pool: LocalWorkerPool?,
        servers: LabServers
    ) throws -> BenchReport {
        let keeping = strategy.traits.stock
        // Unit rows are rows: enough for every purchase of a round, not a billion.
        var configuration = stampede
        if keeping == .unitRows { configuration.stock = buyers.count }
        let context = PgbenchContext(item: 1, quantity: 1, runId: UUID(), batchSize: 16)
        guard let script = strategy.pgbenchScript(context) else {
            throw CLIError(message: "pgbench cannot run \(strategy.name)'s SQL")
        }
        // A strategy that serves an item from one consumer at a time has one session on the hot row.
        let sessions = script.clients == .one ? 1 : consumerThreads
        let plan = StampedePlan(buyers: buyers.count, items: 1, seed: configuration.seed)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        // A warm-up of each side, not reported: the workers' statements get prepared, the server's caches
        // and the broker's queues settle, so round 1 measures the same steady state as the others.
        progress.update("\(strategy.name): warming up")
        let warmUp = min(buyers.count, 2000)
        _ = try runner.run(
            strategy: strategy,
            configuration: {
                var small = configuration
                small.buyers = warmUp
                return small
            }(),
            plan: StampedePlan(buyers: warmUp, items: 1, seed: configuration.seed),
            tick: { pool?.replaceDeadWorkers() }
        )
        try runner.resetItems(1, stock: keeping == .unitRows ? buyers.count + sessions : Self.hotStock, keeping: keeping)
        _ = try pgbench.run(
            script,
            name: strategy.name.rawValue,
            postgresURL: servers.postgresURL,
            clients: sessions,
            transactions: max(sessions, warmUp / script.purchasesPerTransaction)
        )
        let roundStock = keeping == .unitRows ? buyers.count + sessions : Self.hotStock
        var rounds: [BenchReport.Round] = []
        for round in 1...self.rounds {
            let label = "\(strategy.name) round \(round)/\(self.rounds)"
            let watched = pool?.processIdentifiers ?? []
            var measured: (report: RunReport, cpu: (own: Double, machine: Double, share: Double?))?
            var plain: Pgbench.Result?
            let pipelineSide = {
                try runner.resetItems(1, stock: roundStock, keeping: keeping)
                try runner.checkpoint()
                let before = CPUSample.now(watching: watched)
                let report = try runner.run(
                    strategy: strategy,
                    configuration: configuration,
                    plan: plan,
                    tick: { pool?.replaceDeadWorkers() },
                    progress: { settled, total in progress.update("\(label): pipeline \(settled)/\(total) settled") }
                )
                let after = CPUSample.now(watching: watched + (pool?.processIdentifiers ?? []))
                guard report.outcomes.indeterminate == 0 else {
                    throw CLIError(
                        message:
                            "\(label): \(report.outcomes.indeterminate) of \(buyers.count) requests have no outcome after \(Int(timeout.seconds)) s"
                    )
                }
                measured = (report, CPUSample.ownShare(from: before, to: after))
            }
            let pgbenchSide = {
                progress.update("\(label): pgbench -c \(sessions)")
                let transactions = (buyers.count + script.purchasesPerTransaction - 1) / script.purchasesPerTransaction
                try runner.resetItems(1, stock: roundStock, keeping: keeping)
                try runner.checkpoint()
                plain = try pgbench.run(
                    script,
                    name: strategy.name.rawValue,
                    postgresURL: servers.postgresURL,
                    clients: sessions,
                    transactions: transactions
                )
            }
            // The sides take turns going first, so a drift of the machine (the disk's fsync latency moves
            // by ±20 % from one minute to the next) does not always fall on the same side.
            if round % 2 == 1 {
                try pipelineSide()
                try pgbenchSide()
            } else {
                try pgbenchSide()
                try pipelineSide()
            }
            guard let measured, let plain else { continue }
            let report = measured.report
            var pipelined: Pgbench.Result?
            if strategy.name == .pessimistic && !noPipelinedPgbench {
                progress.update("\(label): pgbench -c \(sessions), pipelined")
                try runner.resetItems(1, stock: Self.hotStock)
                try runner.checkpoint()
                pipelined = try pgbench.run(
                    Pgbench.ceiling(context),
                    name: "ceiling",
                    postgresURL: servers.postgresURL,
                    clients: sessions,
                    transactions: buyers.count
                )
            }
            progress.clear()
            rounds.append(
                BenchReport.Round(
                    round: round,
                    report: report,
                    pgbench: plain,
                    pgbenchPipelined: pipelined,
                    cpu: measured.cpu
                )
            )
        }
        return BenchReport(
            strategy: strategy.name,
            buyers: buyers.count,
            workers: workers.count,
            consumersPerWorker: workers.count > 0 ? workers.consumers : consumerThreads,
            sessions: sessions,
            pgbenchNote: script.note,
            rounds: rounds,
            harnessPeakBytes: peakResidentBytes()
        )
    }
}
