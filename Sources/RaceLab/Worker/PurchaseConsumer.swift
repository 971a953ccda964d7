import AMQP
import Foundation
import Logging
import Postgres

/// The loop of one consumer thread: take a request off `racelab.purchases`, settle it with its
/// strategy, publish the outcome, ack — in that order, so nothing is acked before its COMMIT.
///
/// Requests marked `gated` are held until the run's gate opens (a `GateSignal` on `racelab.control`),
/// so all consumers of all workers start in the same instant. Connection failures are survived by
/// reconnecting with backoff; unacked requests go back to the queue and are redelivered.
final class PurchaseConsumer: Sendable {
    private let configuration: WorkerConfiguration
    private let index: Int
    private let stop: StopFlag
    private let logger: Logger

    init(configuration: WorkerConfiguration, index: Int, stop: StopFlag, logger: Logger) {
        self.configuration = configuration
        self.index = index
        self.stop = stop
        self.logger = logger
    }

    /// Runs until the stop flag is raised. Blocks the calling thread.
    func run() {
        var backoff = 0.2
        while !stop.isRaised {
            do {
                try serve()
                backoff = 0.2
            } catch {
                guard !stop.isRaised else { break }
                logger.warning("Consumer lost its connections; reconnecting", metadata: ["lab.error": "\(error)", "lab.backoff_s": "\(backoff)"])
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }

    /// One connected session: returns when stopped, throws when a connection breaks.
    private func serve() throws {
        let amqp = try AMQPConnection(
            endpoint: try AMQPEndpoint(url: configuration.amqpURL),
            connectionName: "racelab worker \(configuration.name)/\(index)"
        )
        let db = try PostgresConnection(url: configuration.postgresURL, applicationName: "racelab-worker")
        try Topology.declare(on: amqp)
        try amqp.enableConfirms()  // dead letters are confirmed before the request they replace is acked
        try amqp.setPrefetch(configuration.prefetch)
        let controlQueue = try amqp.declareQueue("", durable: false, exclusive: true, autoDelete: true).name
        try amqp.bindQueue(controlQueue, exchange: Topology.control, routingKey: "")
        let controlTag = try amqp.consume(queue: controlQueue, noAck: true)
        _ = try amqp.consume(queue: Topology.purchases)
        logger.debug("Consumer ready")

        var session = Session(
            amqp: amqp,
            db: db,
            worker: "\(configuration.name)/\(index)",
            executor: PurchaseExecutor(policy: configuration.retryPolicy),
            logger: logger
        )
        while !stop.isRaised {
            guard let delivery = try amqp.nextDelivery(timeout: .seconds(1)) else {
                try session.releaseExpiredHolds(olderThan: configuration.gateTimeoutSeconds)
                continue
            }
            if delivery.consumerTag == controlTag {
                try session.handleControl(delivery)
            } else {
                try session.handleRequest(delivery)
            }
        }
        amqp.close()
    }
}

/// The state of one connected consumer: its connections, held (gated) requests and opened gates.
private struct Session {
    let amqp: AMQPConnection
    let db: PostgresConnection
    let worker: String
    let executor: PurchaseExecutor
    let logger: Logger
    let codec = MessageCodec()

    /// Requests waiting for their run's gate, in arrival order.
    var held: [(delivery: AMQPDelivery, request: PurchaseRequest, since: UInt64)] = []
    /// Runs whose gate has opened, most recent last (bounded).
    var openedRuns: [UUID] = []

    mutating func handleControl(_ delivery: AMQPDelivery) throws {
        guard let signal = try? codec.decode(GateSignal.self, from: delivery.body), signal.kind == .open else { return }
        // The harness repeats the signal while its run lasts; remember each run once.
        if !openedRuns.contains(signal.runId) {
            openedRuns.append(signal.runId)
            if openedRuns.count > 64 { openedRuns.removeFirst(openedRuns.count - 64) }
        }
        let ready = held.filter { $0.request.runId == signal.runId }
        held.removeAll { $0.request.runId == signal.runId }
        for entry in ready { try settle(entry.delivery, entry.request) }
    }

    mutating func handleRequest(_ delivery: AMQPDelivery) throws {
        guard delivery.body.count <= Topology.maxMessageBytes else {
            try deadLetter(delivery, reason: "message too large (\(delivery.body.count) bytes > \(Topology.maxMessageBytes))", request: nil)
            return
        }
        let request: PurchaseRequest
        do {
            request = try PurchaseRequest(json: delivery.body)
        } catch {
            try deadLetter(delivery, reason: error.reason, request: nil)
            return
        }
        if let problem = request.validationProblem {
            try deadLetter(delivery, reason: problem, request: request)
            return
        }
        if request.gated && !openedRuns.contains(request.runId) {
            held.append((delivery, request, WallClock.nanoseconds()))
            return
        }
        try settle(delivery, request)
    }

    /// Serves held requests whose gate never opened (their harness died), so none is stranded.
    mutating func releaseExpiredHolds(olderThan seconds: Double) throws {
        let cutoff = WallClock.nanoseconds() &- UInt64(seconds * 1e9)
        while let first = held.first, first.since < cutoff {
            held.removeFirst()
            logger.warning("Gate never opened; serving held request", metadata: ["lab.run": "\(first.request.runId)"])
            try settle(first.delivery, first.request)
        }
    }

    private func settle(_ delivery: AMQPDelivery, _ request: PurchaseRequest) throws {
        let settlement = try executor.settle(request, redelivered: delivery.redelivered, on: db)
        if settlement.outcome == .deadLettered {
            try deadLetter(delivery, reason: settlement.error ?? "cannot be served", request: request)
            return
        }
        let outcome = OutcomeMessage(
            requestId: request.requestId,
            runId: request.runId,
            itemId: request.itemId,
            strategy: request.strategy,
            outcome: settlement.outcome,
            retries: settlement.retries,
            worker: worker,
            finishedAt: WallClock.nanoseconds(),
            error: settlement.error
        )
        try publish(outcome)
        try amqp.ack(delivery.deliveryTag)
        logger.trace("Purchase settled", metadata: ["lab.strategy": "\(request.strategy.rawValue)", "lab.outcome": "\(settlement.outcome.rawValue)"])
    }

    /// Moves a request the worker cannot serve to the dead-letter queue, with the reason in a header,
    /// and tells its harness. The copy is confirmed before the original is acked, so a crash in between
    /// leaves the request on the queue (at worst dead-lettered twice), never lost.
    private func deadLetter(_ delivery: AMQPDelivery, reason: String, request: PurchaseRequest?) throws {
        logger.info("Dead-lettering a request", metadata: ["lab.reason": "\(reason)"])
        var properties = delivery.properties
        properties.persistent = true
        properties.headers[Topology.reasonHeader] = .string(reason)
        properties.headers[Topology.workerHeader] = .string(worker)
        properties.headers[Topology.deadLetteredAtHeader] = .int64(Int64(clamping: WallClock.nanoseconds()))
        try amqp.publish(exchange: Topology.deadLetterExchange, routingKey: Topology.deadLetters, body: delivery.body, properties: properties)
        try amqp.waitForConfirms(timeout: .seconds(10))
        if let request {
            try publish(
                OutcomeMessage(
                    requestId: request.requestId,
                    runId: request.runId,
                    itemId: request.itemId,
                    strategy: request.strategy,
                    outcome: .deadLettered,
                    retries: 0,
                    worker: worker,
                    finishedAt: WallClock.nanoseconds(),
                    error: reason
                )
            )
        }
        try amqp.ack(delivery.deliveryTag)
    }

    private func publish(_ outcome: OutcomeMessage) throws {
        try amqp.publish(
            exchange: Topology.outcomes,
            routingKey: Topology.outcomeKey(runId: outcome.runId.uuidString),
            body: try codec.encode(outcome),
            properties: AMQPMessageProperties(contentType: "application/json")
        )
    }
}
