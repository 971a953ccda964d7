import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `racelab demo`: the last-item race told in the terminal — the same stampede for one item at each strategy.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The last-item race in under a minute: the same buyers fight over 1 item with each strategy in turn.",
        discussion: """
            Starts local workers, fires one stampede (all buyers released at once for a stock of 1) at naive, pessimistic, \
            optimistic, advisory and batched, and says after each what it sold. Colour only when stdout is a terminal.
            """
    )

    @OptionGroup var lab: LabOptions

    @OptionGroup var buyers: BuyersOption<Defaults>

    @OptionGroup var workers: WorkerOptions<Defaults>

    @OptionGroup var race: RaceOptions<Defaults>

    @OptionGroup var timeout: TimeoutOption<Defaults>

    /// The one stampede the demo fires at each strategy: one item, one in stock.
    var stampede: StampedeConfiguration {
        var configuration = StampedeConfiguration(options: buyers, workers, race, timeout)
        configuration.stock = 1
        configuration.items = 1
        return configuration
    }

    func validate() throws {
        if workers.count == 0 { throw ValidationError("--workers must be at least 1: the demo starts its own workers") }
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.demo")
        let configuration = stampede
        let colour = isatty(STDOUT_FILENO) == 1
        Self.say(
            """
            The last item: \(buyers.count) buyers, 1 item in stock, \(workers.count) workers × \(workers.consumers) consumers, think \(race.thinkMs) ms.
            The same stampede (seed \(race.seed)) hits each strategy in turn. naive reads the stock, thinks, and writes what it read;
            pessimistic and advisory take a lock first (nowait will not wait for one: it retries); optimistic writes only if
            nobody changed the row meanwhile; batched locks the row once for all the requests for it a worker has in hand;
            atomic checks and writes in one statement; skip-locked claims one unit row of many, skipping those others hold;
            serialized lets RabbitMQ hand each item to one consumer at a time, so the naive SQL needs no lock.

            """
        )
        let servers = try lab.servers(logger: logger)
        let runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)
        let pool = try lab.prepareWorkers(count: workers.count, consumers: workers.consumers, servers: servers, runner: runner, logger: logger)
        defer { pool?.stop() }

        let plan = StampedePlan(buyers: configuration.buyers, items: configuration.items, seed: configuration.seed)
        let progress = ProgressLine(enabled: isatty(STDERR_FILENO) == 1)
        var reports: [RunReport] = []
        var stories: [(name: StrategyName, story: RaceStory, path: String?)] = []
        for strategy in StrategyCatalog.builtIns {
            // naive's and pessimistic's attempts are traced, to tell how they raced at the end.
            let traced = Self.told.contains(strategy.name) ? RunTrace() : nil
            let report = try runner.run(
                strategy: strategy,
                configuration: configuration,
                plan: plan,
                trace: traced,
                tick: { pool?.replaceDeadWorkers() },  // a worker that dies is replaced, as in racelab run
                progress: { settled, total in progress.update("\(strategy.name.rawValue): \(settled)/\(total) settled") }
            )
            progress.clear()
            reports.append(report)
            Self.say(Self.verdict(report, colour: colour))
            if let traced {
                let file = traced.file(for: report)
                stories.append((strategy.name, RaceStory(file), saveTrace(file)))
            }
        }

        Self.say("")
        Self.say(ReportTable(reports: reports, colour: colour).render())
        if !stories.isEmpty {
            Self.say("\nHow the race went (from the traced attempts):")
            for told in stories {
                Self.say("")
                for line in Self.story(told.story) { Self.say("  \(told.name.rawValue): \(line)") }
                if let path = told.path {
                    Self.say("  the whole story and its timeline: racelab explain \(path) --html > \(told.name.rawValue).html")
                }
            }
        }
        Self.say(
            """

            Where to look next:
              racelab matrix experiments/contention.yaml --quick   every strategy as contention grows, with repetitions;
                                                                   writes report.html (charts), report.md, runs.csv, runs.json
                                                                   to \(lab.homeURL.appendingPathComponent("reports").path)/<run id>-<name>/
              racelab runs                                         the matrix runs stored so far
              racelab compare A B                                  two matrix runs cell by cell: which changes are beyond noise
              racelab run --strategy all --buyers 1000 --stock 10  your own stampede
            """
        )
        if let first = reports.first(where: { $0.outcomes.indeterminate > 0 }) {
            throw CLIError(
                message: "timed out: \(first.outcomes.indeterminate) of \(first.buyers) \(first.strategy.rawValue) requests have no outcome "
                    + "after \(Int(timeout.seconds)) s without progress (are the workers running?); the report above is partial"
            )
        }
    }

    /// The strategies whose race the demo tells: the oversell, and the lock queue that prevents it.
    static let told: [StrategyName] = [.naive, .pessimistic]

    /// Two or three lines of a story: the first lost update and how many, or the lock queue.
    static func story(_ story: RaceStory) -> [String] {
        if let collision = story.firstCollision {
            return [
                collision.text,
                "\(story.lostUpdates) lost update\(story.lostUpdates == 1 ? "" : "s") in all; the database has \(story.sold) sold of a stock of 1.",
            ]
        }
        if let queue = story.lockQueue { return [queue.text] }
        return Array(story.lines.dropFirst(2).prefix(2))
    }

    /// Keeps a demo trace in the lab home (`traces/demo-<strategy>.jsonl`); nil when it cannot be written.
    private func saveTrace(_ file: TraceFile) -> String? {
        let folder = lab.homeURL.appendingPathComponent("traces")
        let url = folder.appendingPathComponent("demo-\(file.run.strategy.rawValue).jsonl")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data((try file.lines().joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
            return url.path
        } catch {
            return nil
        }
    }

    /// The demo's defaults: a crowd for one item, and strategies slow enough for naive to oversell.
    enum Defaults: BuyersDefaults, WorkerDefaults, RaceDefaults, TimeoutDefaults {
        static let buyers: Int? = 100
        static let buyersHelp = "Buyers fighting over the one item."
        static let workers = 4
        static let consumers = 4
        static let workersHelp = "Local worker processes."
        static let thinkMs = 5
        static let seed: UInt64 = 42
        static let timeout: Double = 30
    }

    /// One line on what a strategy did with the one item: an oversell loud (bold red on a terminal), an exact sale plain.
    static func verdict(_ report: RunReport, colour: Bool) -> String {
        let name = report.strategy.rawValue
        let stock = report.initialStock
        let turnedAway = report.outcomes.soldOut + report.outcomes.gaveUp
        let milliseconds = report.latencyMs.p99
        let p99 = "p99 \(String(format: milliseconds >= 100 ? "%.0f" : "%.1f", milliseconds)) ms"
        let retries = report.retries > 0 ? ", \(report.retries) retries" : ""
        if report.oversold > 0 {
            let text = "\(name): sold \(report.sold) of \(stock) — OVERSOLD by \(report.oversold)"
            return (colour ? "\u{1B}[1;31m\(text)\u{1B}[0m" : text) + " (\(report.violations.count) invariants broken, \(p99))"
        }
        if report.sold == stock && report.violations.isEmpty {
            let exact = StrategyCatalog.builtIn(report.strategy)?.traits.expectation == .exact
            let lucky = exact ? "" : " — no oversell this time; more buyers or --think-ms widen the race"
            return "\(name): sold exactly \(stock), \(turnedAway) turned away, \(p99)\(retries)\(lucky)"
        }
        let broken = report.violations.isEmpty ? "" : ", \(report.violations.count) invariants broken"
        return
            "\(name): sold \(report.sold) of \(stock), \(turnedAway) turned away, \(report.outcomes.indeterminate) unknown, \(p99)\(retries)\(broken)"
    }

    /// Writes a line to stdout unbuffered, so each shows as soon as its stampede is over, piped or not.
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
