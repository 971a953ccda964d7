import AMQP
import Foundation
import Logging
import Postgres
import RaceLabCore
import Synchronization

/// A pool of consumer threads serving `racelab.purchases`, as one `racelab worker` process runs it.
///
/// Each thread owns one AMQP and one PostgreSQL connection and never shares them; the C libraries are
/// only ever called from these threads. `start()` returns at once; `stop()` asks every thread to finish
/// its current request and close, and `wait()` blocks until they have.
public final class Worker: Sendable {
    public let configuration: WorkerConfiguration
    private let logger: Logger
    private let stopFlag = StopFlag()
    private let finished = DispatchGroup()
    private let readyConsumers = Atomic<Int>(0)

    public init(configuration: WorkerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects to both servers once and declares the topology, so a worker that cannot reach them
    /// fails at once with a clear error instead of retrying in the background. Blocks.
    public func checkConnections() throws {
        let amqp = try AMQPConnection(endpoint: try AMQPEndpoint(url: configuration.amqpURL), connectionName: "racelab worker check")
        defer { amqp.close() }
        let db = try PostgresConnection(url: configuration.postgresURL, applicationName: "racelab-worker")
        try Schema.ensure(on: db)
        try Topology.declare(on: amqp)
    }

    /// Starts the consumer threads; `ready` is called once (on one of them), when every consumer has
    /// subscribed to its queues for the first time.
    public func start(ready: @escaping @Sendable () -> Void = {}) {
        let count = max(1, configuration.consumers)
        for index in 1...count {
            let consumer = PurchaseConsumer(
                configuration: configuration,
                index: index,
                stop: stopFlag,
                logger: logger.with("lab.consumer", "\(configuration.name)/\(index)"),
                ready: { [self] in
                    if self.readyConsumers.add(1, ordering: .acquiringAndReleasing).newValue == count { ready() }
                }
            )
            finished.enter()
            let thread = Thread { [finished] in
                consumer.run()
                finished.leave()
            }
            thread.name = "racelab-consumer-\(index)"
            thread.start()
        }
    }

    /// Asks every consumer to stop after the request in hand; returns at once.
    public func stop() { stopFlag.raise() }

    /// Blocks until every consumer thread has closed its connections.
    public func wait() { finished.wait() }
}

extension Logger {
    /// A copy of this logger with one more metadata value.
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = "\(value)"
        return copy
    }
}
