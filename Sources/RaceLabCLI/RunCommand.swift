import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Sandbox

/// `racelab run`: fires one stampede at one strategy, or the identical stampede at each.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Fire a stampede of buyers at a purchase strategy and report oversells, latency and throughput.",
        discussion: """
            All requests are published while the workers are gated, then released at once. With --strategy all the \
            identical stampede (same seed, same buyer order) runs against each strategy and one table compares them. \
            `racelab strategies` lists the strategies; --strategy-file adds one written as SQL steps.
            """
    )

    @OptionGroup var lab: LabOptions

    @Option(help: "naive, pessimistic, optimistic, advisory, batched, atomic, nowait, skip-locked, serialized, one from --strategy-file, or all.")
    var strategy: String

    @OptionGroup var strategyOptions: StrategyFileOptions

    @OptionGroup var buyers: BuyersOption<Defaults>

    @OptionGroup var items: ItemOptions

    @OptionGroup var workers: WorkerOptions<Defaults>

    @OptionGroup var race: RaceOptions<Defaults>

    @OptionGroup var quantity: QuantityOption

    @OptionGroup var timeout: TimeoutOption<Defaults>

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    @Option(help: "Inject faults: kill-worker[:every-ms] SIGKILLs a random local worker every so often (default 1000 ms).")
    var chaos: String?

    @Option(help: "queue (publish to RabbitMQ directly) or http (POST /purchases through the API, so its cost shows).")
    var via: Via = .queue

    @Option(
        name: .customLong("api-url"),
        help: "With --via http: the API to send through (env RACELAB_API_URL); without it a local `racelab serve` is started for the run."
    )
    var apiURL: String?

    @Option(
        parsing: .unconditional,
        help: "Open loop: send the requests at this many per second, ungated, and count each one's latency from its intended send time."
    )
    var rate: Double?

    @Option(help: "Write every request's history (invoke, ok/fail/info) as JSON lines to this file.")
    var history: String?

    @Option(
        help: ArgumentHelp(
            "Trace every attempt step by step (reads, lock waits, think, writes, commits) as JSON lines to this file; `racelab explain` tells its story.",
            discussion: "With several strategies, each gets its own file: the strategy's name goes before the extension (t.jsonl: t.naive.jsonl, …)."
        )
    )
    var trace: String?

    var stampede: StampedeConfiguration {
        var configuration = StampedeConfiguration(options: buyers, items, workers, race, quantity, timeout)
        configuration.ratePerSec = rate
        configuration.isolation = strategyOptions.isolation
        return configuration
    }

    /// The strategies this run fires at, in table order.
    func selectedStrategies() throws -> [any PurchaseStrategy] {
        try StrategyFileOptions.select(strategy, from: try strategyOptions.catalog())
    }

    func validate() throws {
        // The option groups have checked their own options; this adds --rate.
        if let problem = stampede.problem { throw ValidationError(problem) }
        for selected in try selectedStrategies() {
            if let problem = stampede.problem(for: selected) { throw ValidationError(problem) }
        }
        if let chaos {
            do {
                _ = try ChaosPlan(parsing: chaos)
            } catch {
                throw ValidationError("--chaos: \(error.message)")
            }
            if workers.count == 0 { throw ValidationError("--chaos kill-worker needs local workers (--workers 1 or more)") }
        }
        if rate != nil && via == .http { throw ValidationError("--rate needs --via queue (the API path is a gated stampede)") }
        if apiURL != nil, via != .http { throw ValidationError("--api-url needs --via http") }
        // RACELAB_API_URL stands for --api-url: checked as early, and named.
        if via == .http, let given = givenAPIURL { _ = try Self.apiURL(given.value, source: given.source) }
        // Without an API to send through, the run starts racelab-server: built, or said before anything runs.
        if via == .http, givenAPIURL == nil {
            do { _ = try LabExecutable.server() } catch { throw ValidationError("--via http: \(error)") }
        }
        if let history, let problem = WritablePath.problemWithFile(history, option: "--history") { throw ValidationError(problem) }
        if let trace, let problem = WritablePath.problemWithFile(trace, option: "--trace") { throw ValidationError(problem) }
    }

    /// Where `strategy`'s trace goes: `--trace` itself, or with several strategies the strategy's name before its extension.
    static func tracePath(_ path: String, strategy: StrategyName, several: Bool) -> String {
        guard several else { return path }
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? url.lastPathComponent : String(url.lastPathComponent.dropLast(ext.count + 1))
        let name = stem + "." + strategy.rawValue + (ext.isEmpty ? "" : "." + ext)
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// The API to send through with `--via http`: `--api-url`, else `RACELAB_API_URL`, with where it came from.
    private var givenAPIURL: (value: String, source: String)? {
        if let apiURL { return (apiURL, "--api-url") }
        return LabOptions.environment("RACELAB_API_URL").map { ($0, "RACELAB_API_URL") }
    }

    /// `text` as an `http://host:port` URL, or a one-line error naming `source`.
    static func apiURL(_ text: String, source: String) throws -> URL {
        guard let url = URL(string: text), url.scheme == "http", url.host != nil else {
            throw ValidationError("\(source): expected http://host:port, got '\(text)'")
        }
        return url
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.run")
        var configuration = stampede
        let servers = try lab.servers(logger: logger)
        let runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)
        // Strategy files are checked against the server and registered before any worker starts.
        for (file, strategy) in try strategyOptions.load() { try runner.register(strategy, file: file) }
        let strategies = try selectedStrategies()

        let pool = try lab.prepareWorkers(
            count: configuration.workers,
            consumers: configuration.consumersPerWorker,
            servers: servers,
            runner: runner,
            logger: logger
        )
        defer { pool?.stop() }
        // Workers already running (--workers 0): the report names the consumers really attached, not the default.
        if configuration.workers == 0 { configuration.consumersPerWorker = try runner.consumerCount() }

        var apiServer: LocalAPIServer?
        defer { apiServer?.stop() }
        let transport: StampedeTransport
        switch via {
        case .queue:
            transport = .queue
        case .http:
            if let given = givenAPIURL {
                transport = .http(try Self.apiURL(given.value, source: given.source))
            } else {
                let server = try LocalAPIServer(
                    executable: try LabExecutable.server(),
                    postgresURL: servers.postgresURL,
                    amqpURL: servers.amqpURL,
                    logDirectory: lab.homeURL.appendingPathComponent("logs"),
                    logger: logger
                )
                apiServer = server
                transport = .http(server.baseURL)
            }
        }

        let plan = StampedePlan(buyers: configuration.buyers, items: configuration.items, seed: configuration.seed)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        let chaosPlan = try chaos.map { try ChaosPlan(parsing: $0) }
        let recorder = history.map { _ in RunHistory() }
        var nextFault = Date().addingTimeInterval(Double(chaosPlan?.everyMilliseconds ?? 0) / 1000)
        var kills: [Date] = []
        let tick = {
            guard let pool else { return }
            pool.replaceDeadWorkers()  // whoever killed them: the chaos below, or a person
            if let chaosPlan, Date() >= nextFault {
                if pool.killRandomWorker() != nil { kills.append(Date()) }
                nextFault = Date().addingTimeInterval(Double(chaosPlan.everyMilliseconds) / 1000)
            }
        }
        var reports: [RunReport] = []
        var traces: [(path: String, file: TraceFile)] = []
        for strategy in strategies {
            let started = Date()
            kills.removeAll()
            let traced = trace.map { _ in RunTrace() }
            var report = try runner.run(
                strategy: strategy,
                configuration: configuration,
                plan: plan,
                transport: transport,
                history: recorder,
                trace: traced,
                tick: tick
            ) {
                settled,
                total in progress.update("\(strategy.name.rawValue): \(settled)/\(total) settled")
            }
            progress.clear()
            if chaosPlan != nil { report.workerKillsSec = kills.map { ($0.timeIntervalSince(started) * 1000).rounded() / 1000 } }
            reports.append(report)
            if let trace, let traced {
                traces.append((Self.tracePath(trace, strategy: strategy.name, several: strategies.count > 1), traced.file(for: report)))
            }
        }
        switch format {
        case .table:
            print(ReportTable(reports: reports, colour: isatty(STDOUT_FILENO) == 1).render())
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = self.strategy == "all" ? try encoder.encode(reports) : try encoder.encode(reports[0])
            print(String(decoding: data, as: UTF8.self))
        }
        // After the reports are printed: a history that cannot be written never costs the run's report.
        if let history, let recorder {
            do {
                try recorder.write(to: URL(fileURLWithPath: history))
            } catch {
                throw CLIError(message: "--history: cannot write \(history): \(fileErrorCause(error)); the report above is complete")
            }
        }
        for (path, file) in traces {
            do {
                try Data((try file.lines().joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw CLIError(message: "--trace: cannot write \(path): \(fileErrorCause(error)); the report above is complete")
            }
        }
        let unfinished = reports.filter { $0.outcomes.indeterminate > 0 }
        if let first = unfinished.first {
            throw CLIError(
                message: "timed out: \(first.outcomes.indeterminate) of \(first.buyers) \(first.strategy.rawValue) requests have no outcome "
                    + "after \(Int(timeout.seconds)) s without progress (are the workers running?); the report above is partial"
            )
        }
    }

}

extension RunCommand {
    /// `racelab run`'s defaults: the stampede's size is always given.
    enum Defaults: BuyersDefaults, WorkerDefaults, RaceDefaults, TimeoutDefaults {
        static let buyers: Int? = nil
        static let workers = 4
        static let consumers = 4
        static let thinkMs = 0
        static let seed: UInt64 = 42
        static let timeout: Double = 30
    }

    /// How `racelab run` hands the requests over (`--via`).
    enum Via: String, ExpressibleByArgument, CaseIterable {
        case queue, http
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
