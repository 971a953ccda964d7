import Foundation
import Logging
import RaceLab

/// An in-process `Worker` and a `StampedeRunner` on a thread of their own, firing stampedes on request.
///
/// libpq and librabbitmq block, so they must not run on a Swift concurrency thread, and a
/// `StampedeRunner` belongs to the thread that made it. So the lab's thread makes the runner, starts
/// the worker, and then fires one stampede per order it takes from its mailbox until it is told to
/// stop; only the orders and the reports cross threads.
final class StampedeLab: Sendable {
    private let servers: LabServers
    private let consumers: Int
    private let logger: Logger
    private let orders = Mailbox<Order>()

    private enum Order: Sendable {
        case fire(StrategyName, StampedeConfiguration, StampedePlan, reply: @Sendable (Result<RunReport, any Error>) -> Void)
        case stop(done: @Sendable () -> Void)
    }

    /// A lab whose worker will run `consumers` consumer threads; nothing connects before `start()`.
    init(servers: LabServers, consumers: Int, logger: Logger) {
        self.servers = servers
        self.consumers = consumers
        self.logger = logger
    }

    /// Starts the lab's thread: connects, removes requests an unfinished earlier run left on the queue,
    /// starts the worker and returns once its consumers serve `racelab.purchases`. Throws what the
    /// thread ran into (an unreachable server, consumers that never came up within 30 s).
    func start() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread { [self] in serve(ready: { continuation.resume(with: $0) }) }
            thread.name = "racelab-bench-lab"
            thread.start()
        }
    }

    /// Fires one stampede and returns its report; blocks the caller until the run is over.
    func fire(_ strategy: StrategyName, configuration: StampedeConfiguration, plan: StampedePlan) throws -> RunReport {
        let reply = Mailbox<Result<RunReport, any Error>>()
        orders.post(.fire(strategy, configuration, plan, reply: { reply.post($0) }))
        return try reply.take().get()
    }

    /// Stops the worker (each consumer finishes the request in hand) and ends the lab's thread.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            orders.post(.stop(done: { continuation.resume() }))
        }
    }

    /// The lab's thread: everything that touches a connection happens here.
    private func serve(ready: (Result<Void, any Error>) -> Void) {
        let worker = Worker(
            configuration: WorkerConfiguration(
                postgresURL: servers.postgresURL,
                amqpURL: servers.amqpURL,
                consumers: consumers,
                name: "bench-\(ProcessInfo.processInfo.processIdentifier)"
            ),
            logger: logger
        )
        let runner: StampedeRunner
        do {
            runner = try StampedeRunner(postgresURL: servers.postgresURL, amqpURL: servers.amqpURL, logger: logger)
            // Before the worker starts, so that it never holds a gated request of a run that is gone.
            let leftovers = try runner.purgeLeftovers()
            if leftovers > 0 {
                logger.notice("Removed requests an unfinished earlier run left on the queue", metadata: ["lab.removed": "\(leftovers)"])
            }
            let others = try runner.consumerCount()
            try worker.checkConnections()
            worker.start()
            try runner.waitForConsumers(atLeast: others + consumers, timeoutSeconds: 30)
        } catch {
            worker.stop()
            worker.wait()
            ready(.failure(error))
            return
        }
        ready(.success(()))

        while true {
            switch orders.take() {
            case .fire(let strategy, let configuration, let plan, let reply):
                reply(Result { try runner.run(strategy: strategy, configuration: configuration, plan: plan) })
            case .stop(let done):
                worker.stop()
                worker.wait()
                done()
                return
            }
        }
    }
}
