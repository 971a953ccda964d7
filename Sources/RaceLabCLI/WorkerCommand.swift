import ArgumentParser
import Dispatch
import Foundation
import RaceLab

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

    func validate() throws {
        guard (1...64).contains(consumers) else { throw ValidationError("--consumers must be in 1...64 (got \(consumers))") }
        guard (1...65_535).contains(prefetch) else { throw ValidationError("--prefetch must be in 1...65535 (got \(prefetch))") }
        guard (1...1024).contains(batchSize) else { throw ValidationError("--batch-size must be in 1...1024 (got \(batchSize))") }
    }

    func run() throws {
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

        let signals = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { worker.stop() }
            source.resume()
            return source
        }
        var parentWatch: DispatchSourceTimer?
        if exitWithParent {
            let parent = getppid()
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + 1, repeating: 1)
            timer.setEventHandler { if getppid() != parent { worker.stop() } }
            timer.resume()
            parentWatch = timer
        }
        worker.start()
        logger.info("Worker serving", metadata: ["lab.consumers": "\(consumers)"])
        worker.wait()
        parentWatch?.cancel()
        for source in signals { source.cancel() }
        logger.info("Worker stopped")
    }
}
