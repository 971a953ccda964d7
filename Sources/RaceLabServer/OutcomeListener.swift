import AMQP
import Dispatch
import Foundation
import Logging
import RaceLabCore
import RaceLabPipeline
import Synchronization

/// Collects the outcomes of this server's purchases: a dedicated thread with its own `AMQPConnection`,
/// consuming a queue bound to `racelab.outcomes` with the server's run key, feeding the ``PurchaseLedger``.
///
/// After each new `purchased` outcome it asks the database for the item's stock (coalesced per item) and
/// broadcasts it. The queue outlives a reconnect (it expires ten minutes after the server is gone), so
/// outcomes published while the connection is down are not lost.
final class OutcomeListener: Sendable {
    private let endpoint: AMQPEndpoint
    private let runId: UUID
    private let ledger: PurchaseLedger
    private let database: DatabaseGateway
    private let logger: Logger
    private let stopFlag = StopFlag()
    private let finished = DispatchSemaphore(value: 0)
    /// Items whose stock read is queued and not yet started.
    private let staleItems = Mutex(Set<Int64>())

    init(endpoint: AMQPEndpoint, runId: UUID, ledger: PurchaseLedger, database: DatabaseGateway, logger: Logger) {
        self.endpoint = endpoint
        self.runId = runId
        self.ledger = ledger
        self.database = database
        self.logger = logger
    }

    private var queueName: String { "\(Topology.outcomes).api.\(runId.uuidString)" }

    /// Starts the thread, which connects and binds the queue, then reports through `ready` — so no outcome
    /// published after `ready(.success)` is missed. On failure the thread ends after reporting it.
    func start(ready: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let thread = Thread { [self] in
            defer { finished.signal() }
            let connection: AMQPConnection
            do {
                connection = try connect()
            } catch {
                return ready(.failure(error))
            }
            ready(.success(()))
            serve(connection)
        }
        thread.name = "racelab-api-outcomes"
        thread.start()
    }

    /// Asks the thread to stop (within about a second). Returns at once.
    func stop() { stopFlag.raise() }

    /// Blocks until the thread has ended. Not from a Swift concurrency task.
    func waitUntilFinished() { finished.wait() }

    private func connect() throws -> AMQPConnection {
        let connection = try AMQPConnection(endpoint: endpoint, connectTimeout: .seconds(3), connectionName: "racelab api outcomes")
        try Topology.declare(on: connection)
        try connection.declareQueue(queueName, durable: false, arguments: ["x-expires": .int64(600_000)])
        try connection.bindQueue(queueName, exchange: Topology.outcomes, routingKey: Topology.outcomeKey(runId: runId.uuidString))
        try connection.consume(queue: queueName, noAck: true)
        return connection
    }

    private func serve(_ first: AMQPConnection) {
        var connection: AMQPConnection? = first
        var away = false  // so an outage is logged when it starts and ends, not every second
        let codec = MessageCodec()
        while !stopFlag.isRaised {
            guard let open = connection else {
                do {
                    connection = try connect()
                    if away { logger.notice("Outcomes flow from RabbitMQ again") }
                    away = false
                } catch {
                    if !away { logger.warning("Cannot reach RabbitMQ for outcomes; retrying every second", metadata: ["lab.error": "\(error)"]) }
                    away = true
                    Thread.sleep(forTimeInterval: 1)
                }
                continue
            }
            do {
                guard let delivery = try open.nextDelivery(timeout: .seconds(1)) else { continue }
                guard let outcomes = try? codec.decodeOutcomes(from: delivery.body) else {
                    logger.debug("Ignoring an unreadable outcome")
                    continue
                }
                for outcome in outcomes where ledger.recordOutcome(outcome) && outcome.outcome == .purchased {
                    refreshStock(of: outcome.itemId)
                }
            } catch {
                logger.warning("Lost the outcome connection; reconnecting", metadata: ["lab.error": "\(error)"])
                open.close()
                connection = nil
            }
        }
        connection?.close()
    }

    /// Queues one stock read for the item unless one is already waiting, then broadcasts the stock — the
    /// item store's, so an item that keeps unit rows says its free units, as `GET /items/{id}` does.
    private func refreshStock(of itemId: Int64) {
        let queued = staleItems.withLock { $0.insert(itemId).inserted }
        guard queued else { return }
        database.submit { [self] connection in
            staleItems.withLock { _ = $0.remove(itemId) }
            guard let db = try? connection.get(), let stock = try? Schema.stock(ofItem: itemId, on: db) else { return }
            ledger.broadcast(.stock(itemId: itemId, stock: stock))
        }
    }
}
