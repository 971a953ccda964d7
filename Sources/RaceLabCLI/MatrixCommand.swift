import ArgumentParser
import ContentHash
import Foundation
import Logging
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Sandbox

/// `racelab matrix`: runs every cell of an experiment spec, stores each stampede, writes the reports.
struct MatrixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Run an experiment matrix (experiments/*.yaml), store every stampede and write the reports.",
        discussion: """
            Each cell of the spec (strategies × buyers × stock × items × workers × consumers × think time) runs once per \
            repetition, with local workers started for it. Every stampede is stored in the result store as soon as it \
            finishes; at the end report.md, report.html, runs.csv and runs.json are written to the report folder. \
            Ctrl-C stops at once and writes the reports of the runs finished so far.
            """
    )

    @OptionGroup var lab: LabOptions

    @Argument(help: "The experiment spec, e.g. experiments/contention.yaml.")
    var file: String

    @Flag(help: "Run the spec's quick variant (its quick: overrides).")
    var quick = false

    @Option(help: "The result store (default: <lab home>/results.sqlite).")
    var store: String?

    @Option(help: "The report folder (default: <lab home>/reports/<matrix run id>-<name>/).")
    var output: String?

    @OptionGroup var timeout: TimeoutOption<Defaults>

    @Option(help: "table or json (the whole stored record).")
    var format: OutputFormat = .table

    func validate() throws {
        // Everything the matrix will write is checked before any stampede runs.
        if let output, let problem = WritablePath.problemWithFolder(output, option: "--output") { throw ValidationError(problem) }
        if let store, let problem = WritablePath.problemWithFile(store, option: "--store") { throw ValidationError(problem) }
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.matrix")
        let parsed = try ExperimentSpec.load(contentsOf: URL(fileURLWithPath: file), file: file)
        // --quick on a spec with no quick: section would run the whole matrix while saying "quick".
        if quick, parsed.quick == nil {
            throw CLIError(message: "\(file) has no quick: section, so --quick has nothing to shrink; add one or run without --quick")
        }
        let spec = quick ? parsed.quickVariant : parsed
        let plan = MatrixPlan(spec: spec)
        for cell in spec.cells {
            if let strategy = spec.catalog.strategy(named: cell.strategy),
                let problem = MatrixPlan.Run(cell: cell, repetition: 1, seed: spec.seed).configuration().problem(for: strategy)
            {
                throw CLIError(message: "\(self.file): \(cell.label): \(problem)")
            }
        }

        let servers = try lab.servers(logger: logger)
        let runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)
        // The spec's strategy files are checked against the server and registered before anything runs.
        for (file, strategy) in zip(spec.strategyFiles, spec.userStrategies) {
            try runner.register(strategy, file: "\(self.file): strategyFiles: \(file)")
        }
        let environment = RunEnvironment.probe(servers: servers, logger: logger)
        let results = try ResultStore(path: store ?? ResultStore.defaultPath(home: lab.homeURL))
        // The strategy files' text goes along as comments, so the stored spec says what those strategies did.
        let strategySources = zip(spec.strategyFiles, spec.userStrategies).map { file, strategy in
            "\n# --- \(file) (strategy \(strategy.name), version \(strategy.version))\n"
                + strategy.source.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" }.joined(separator: "\n")
        }
        let specText = "# \(file)\(quick ? " --quick" : "")\n" + spec.yaml + strategySources.joined()
        let matrixRunId = try results.beginMatrixRun(
            name: spec.name,
            specText: specText,
            quick: quick,
            environment: environment,
            plannedRuns: plan.runs.count
        )
        let folder =
            output.map { URL(fileURLWithPath: $0) } ?? Self.defaultFolder(home: lab.homeURL, store: store, matrixRunId: matrixRunId, name: spec.name)
        let interruption = Self.onInterrupt {
            Self.note("interrupted; writing the reports of the runs finished so far")
            if let record = try? results.matrixRun(id: matrixRunId), (try? MatrixReport(record: record).write(to: folder)) != nil {
                Self.note(
                    "Matrix run \(matrixRunId) (\(spec.name)) interrupted after \(record.entries.count) of \(plan.runs.count) runs; reports in \(folder.path)/"
                )
            }
            Foundation.exit(130)
        }
        defer { for source in interruption { source.cancel() } }

        Self.note("Matrix run \(matrixRunId) (\(spec.name)\(quick ? ", quick" : "")): \(plan.runs.count) runs, stored in \(results.path)")
        let traces = try runAll(
            plan,
            catalog: spec.catalog,
            trace: spec.trace,
            runner: runner,
            servers: servers,
            store: results,
            matrixRunId: matrixRunId,
            logger: logger
        )
        try results.finishMatrixRun(id: matrixRunId)

        guard let record = try results.matrixRun(id: matrixRunId) else {
            throw CLIError(message: "matrix run \(matrixRunId) vanished from the result store at \(results.path)")
        }
        var report = MatrixReport(record: record)
        report.traces = traces
        // The summary first: a report folder that cannot be written after all never costs it.
        switch format {
        case .table: print(MatrixSummaryTable(cells: report.cells, colour: isatty(STDOUT_FILENO) == 1).render())
        case .json: print(String(decoding: try report.json(), as: UTF8.self))
        }
        do {
            _ = try report.write(to: folder)
        } catch {
            throw CLIError(
                message:
                    "cannot write the reports to \(folder.path): \(fileErrorCause(error)); every run is stored (matrix run \(matrixRunId) in \(results.path))"
            )
        }
        let failed = plan.runs.count - record.entries.count
        Self.note(
            "Matrix run \(matrixRunId) (\(spec.name)): \(record.entries.count) of \(plan.runs.count) runs stored"
                + (failed > 0 ? " (\(failed) failed)" : "") + "; reports in \(folder.path)/"
        )
    }

    /// The matrix's `--timeout`, for every run of it.
    enum Defaults: TimeoutDefaults {
        static let timeout: Double = 30
        static let timeoutHelp = "Seconds without any new outcome before a run's missing requests are reported indeterminate."
    }

    /// `<home>/reports/<id>-<name>` for the default store; for another store its name and a hash of
    /// its path come first, so the folders of different stores (whose ids both start at 1) never meet.
    static func defaultFolder(home: URL, store: String?, matrixRunId: Int64, name: String) -> URL {
        guard let store,
            URL(fileURLWithPath: store).standardizedFileURL != URL(fileURLWithPath: ResultStore.defaultPath(home: home)).standardizedFileURL
        else { return home.appendingPathComponent("reports/\(matrixRunId)-\(name)") }
        let hash = FNV1a.hex64(URL(fileURLWithPath: store).standardizedFileURL.path)
        let stem = URL(fileURLWithPath: store).deletingPathExtension().lastPathComponent
        return home.appendingPathComponent("reports/\(stem)-\(hash)-\(matrixRunId)-\(name)")
    }

    /// Fires every run of `plan`, storing each as it finishes; returns the traces of each cell's first
    /// repetition when `trace` is on.
    ///
    /// Consecutive runs that need the same workers × consumers share one pool of local workers. A run
    /// that fails (the workers died, a server went away for too long) is logged and the matrix goes on
    /// with fresh workers; three failures in a row end it. A run with indeterminate outcomes is a
    /// result: it is stored, and the next run gets fresh workers too.
    private func runAll(
        _ plan: MatrixPlan,
        catalog: StrategyCatalog,
        trace: Bool,
        runner: StampedeRunner,
        servers: LabServers,
        store: ResultStore,
        matrixRunId: Int64,
        logger: Logger
    ) throws -> [(label: String, file: TraceFile)] {
        var traces: [(label: String, file: TraceFile)] = []
        let terminal = isatty(STDERR_FILENO) == 1
        let progressLine = ProgressLine(enabled: terminal)
        var progress = MatrixProgress(total: plan.runs.count)
        var pool: LocalWorkerPool?
        var poolShape: [Int]?
        defer { pool?.stop() }
        var failuresInARow = 0

        for (index, run) in plan.runs.enumerated() {
            let shape = [run.cell.workers, run.cell.consumers]
            if poolShape != shape {
                pool?.stop()
                pool = nil
                progressLine.update(progress.line(running: index, label: run.label) + " · starting \(run.cell.workers) worker(s)")
                pool = try lab.prepareWorkers(
                    count: run.cell.workers,
                    consumers: run.cell.consumers,
                    servers: servers,
                    runner: runner,
                    logger: logger
                )
                poolShape = shape
            }
            let configuration = run.configuration(idleTimeoutSeconds: timeout.seconds)
            let stampede = StampedePlan(buyers: configuration.buyers, items: configuration.items, seed: configuration.seed)
            let line = progress.line(running: index, label: run.label)
            progressLine.update(line)
            let outcome: String
            let traced = trace && run.repetition == 1 ? RunTrace() : nil
            do {
                let report = try runner.run(
                    strategy: run.cell.strategy,
                    catalog: catalog,
                    configuration: configuration,
                    plan: stampede,
                    trace: traced,
                    tick: { pool?.replaceDeadWorkers() },
                    progress: { settled, total in progressLine.update("\(line) · \(settled)/\(total) settled") }
                )
                try store.record(matrixRunId: matrixRunId, entry: MatrixRunEntry(cell: run.cell, repetition: run.repetition, report: report))
                if let traced { traces.append((run.cell.label, traced.file(for: report))) }
                failuresInARow = 0
                outcome = Self.describe(report)
                if report.outcomes.indeterminate > 0 { poolShape = nil }  // the workers may be stuck: start fresh ones
            } catch let error as ResultStoreError {
                throw error
            } catch {
                failuresInARow += 1
                poolShape = nil
                outcome = "failed: \(error)"
                if failuresInARow >= 3 {
                    progressLine.clear()
                    throw CLIError(message: "3 runs in a row failed, the last with: \(error) (matrix run \(matrixRunId) keeps the runs done so far)")
                }
            }
            progress.runFinished()
            progressLine.clear()
            let eta = progress.etaSeconds().map { MatrixProgress.clock($0) } ?? "…"
            Self.note(
                "run \(index + 1)/\(plan.runs.count) \(run.label): \(outcome) [\(MatrixProgress.clock(-progress.startedAt.timeIntervalSinceNow)) elapsed, ETA \(eta)]"
            )
        }
        return traces
    }

    /// `sold 16/1, oversold 15, 1507 req/s, p99 65.9 ms, 2 invariants broken`.
    private static func describe(_ report: RunReport) -> String {
        var parts = [
            "sold \(report.sold)/\(report.initialStock)",
            "oversold \(report.oversold)",
            String(format: "%.0f req/s", report.throughputPerSec),
            String(format: "p99 %.1f ms", report.latencyMs.p99),
        ]
        if report.outcomes.indeterminate > 0 { parts.append("\(report.outcomes.indeterminate) indeterminate") }
        parts.append(report.violations.isEmpty ? "invariants ok" : "\(report.violations.count) invariant(s) broken")
        return parts.joined(separator: ", ")
    }

    /// One plain line on stderr (progress and results for people; stdout stays for the summary).
    static func note(_ text: String) {
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }

    /// Calls `handler` (on a global queue) at the first SIGINT or SIGTERM; returns the sources, to cancel.
    private static func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }
}
