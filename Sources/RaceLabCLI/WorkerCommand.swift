import ArgumentParser
import Dispatch
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `racelab worker`: a long-running process serving `racelab.purchases`.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve purchase requests from racelab.purchases until stopped (SIGINT/SIGTERM).",
        discussion: "Each consumer thread has its own AMQP and PostgreSQL connection; requests are acked after COMMIT."
    )

    @OptionGroup var lab: LabOptions

    @Option(parsing: .unconditional, help: "Consumer threads, each one concurrent database session.")
    var consumers: Int = 4

    @Option(parsing: .unconditional, help: "Unacknowledged requests each consumer may hold.")
    var prefetch: Int = 64

    @Option(
        name: .customLong("batch-size"),
        parsing: .unconditional,
        help: "Settled requests whose outcomes and acks go out together (sooner when no request is waiting); 1 sends each at once."
    )
    var batchSize: Int = 16

    @Option(help: "Names this worker in outcomes and logs (default host:pid).")
    var name: String?

    @Flag(help: .hidden)
    var exitWithParent = false

    /// Created (with this process's id in it) once every consumer is subscribed: how a harness that
    /// started this worker knows it is ready, whatever other consumers come and go on the queues.
    @Option(help: .hidden)
    var readyFile: String?

    func validate() throws {
        guard (1...64).contains(consumers) else { throw ValidationError("--consumers must be in 1...64 (got \(consumers))") }
        guard (1...65_535).contains(prefetch) else { throw ValidationError("--prefetch must be in 1...65535 (got \(prefetch))") }
        guard (1...1024).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...1024 (got \(batchSize))") }
    }

    func run() throws {
        // SIGINT/SIGTERM: before the consumers run, exit at once (nothing to finish); after, only raise
        // a flag (all a signal handler may safely do) that the watch timer below turns into
        // worker.stop(). Installed first, so a signal is never lost in between — a pool stopping a
        // replacement worker it has only just started sends one while the worker is still starting.
        // A parent may have started us with them blocked (a mask is inherited): unblock them here, on the
        // main thread, before the consumer threads start, so they inherit that too.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        signal(SIGINT, onStopSignal)
        signal(SIGTERM, onStopSignal)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
        var logger = lab.makeLogger(label: "racelab.worker")
        let servers = try lab.servers(logger: logger)
        let workerName = name ?? "\(ProcessInfo.processInfo.hostName):\(getpid())"
        logger[metadataKey: "lab.worker"] = "\(workerName)"
        let worker = Worker(
            configuration: WorkerConfiguration(
                postgresURL: servers.postgresURL,
                amqpURL: servers.amqpURL,
                consumers: consumers,
                prefetch: UInt16(prefetch),
                batchSize: batchSize,
                name: workerName
            ),
            logger: logger
        )
        try worker.checkConnections()

        let parent = getppid()
        let watch = DispatchSource.makeTimerSource(queue: .global())
        watch.schedule(deadline: .now(), repeating: .milliseconds(100))
        watch.setEventHandler { [exitWithParent] in
            if stopSignalled != 0 || (exitWithParent && getppid() != parent) { worker.stop() }
        }
        watch.resume()
        let whereFrom = Self.describe(servers)
        worker.start(ready: { [readyFile, consumers, workerName] in
            // Said once, on stderr, when every consumer is subscribed: where this worker takes requests from.
            let line =
                "racelab worker \(workerName): consuming \(Topology.purchases) and its \(Topology.shardCount) shard queues with "
                + "\(consumers) consumer(s); \(whereFrom)\n"
            FileHandle.standardError.write(Data(line.utf8))
            if let readyFile { ReadyFile.create(readyFile) }
        })
        consumersStarted = 1
        logger.info("Worker serving", metadata: ["lab.consumers": "\(consumers)"])
        worker.wait()
        watch.cancel()
        logger.info("Worker stopped")
    }
}

extension WorkerCommand {
    /// "RabbitMQ at host:port, PostgreSQL at host:port/db", without user names or passwords.
    static func describe(_ servers: LabServers) -> String {
        func place(_ url: String) -> (server: String, path: String)? {
            guard let components = URLComponents(string: url), let host = components.host else { return nil }
            let path = String(components.percentEncodedPath.dropFirst()).removingPercentEncoding ?? ""
            return ("\(host):\(components.port.map(String.init) ?? "default port")", path)
        }
        let amqp = place(servers.amqpURL).map { "RabbitMQ at \($0.server), vhost \($0.path.isEmpty ? "/" : $0.path)" } ?? "RabbitMQ"
        let postgres = place(servers.postgresURL).map { "PostgreSQL at \($0.server), database \($0.path)" } ?? "PostgreSQL"
        return "\(amqp); \(postgres)"
    }
}

/// Set by the SIGINT/SIGTERM handler, read by the worker's watch timer.
nonisolated(unsafe) private var stopSignalled: sig_atomic_t = 0
/// Set once the consumer threads run; until then a stop signal ends the process at once.
nonisolated(unsafe) private var consumersStarted: sig_atomic_t = 0

private func onStopSignal(_ number: Int32) {
    if consumersStarted == 0 { _exit(128 + number) }
    stopSignalled = 1
}
