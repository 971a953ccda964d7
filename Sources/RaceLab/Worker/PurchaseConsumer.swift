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
            logger: logger,
            batchSize: configuration.batchSize
        )
        while !stop.isRaised {
            // Settled requests wait for their outcomes and acks while more requests are ready at once;
            // the batch goes out before the consumer would block, or when it is full.
            var delivery = session.hasUnsent ? try amqp.nextDelivery(timeout: .zero) : nil
            if delivery == nil || session.unsentCount >= configuration.batchSize {
                try session.flush()
            }
            if delivery == nil { delivery = try amqp.nextDelivery(timeout: .seconds(1)) }
            guard let delivery else {
                try session.releaseExpiredHolds(olderThan: configuration.gateTimeoutSeconds)
                continue
            }
            if delivery.consumerTag == controlTag {
                try session.handleControl(delivery)
            } else {
                try session.handleRequest(delivery)
            }
        }
        try? session.flush()
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
    /// Outcomes of settled requests not yet published, in settling order.
    var unsentOutcomes: [OutcomeMessage] = []
    /// Delivery tags settled (outcome decided, committed) but not yet acked, in settling order.
    var unacked: [UInt64] = []
    /// Delivery tags received and neither settled nor acked: held, waiting in a batch, or in hand.
    /// A `basic.ack multiple` must never reach below any of them.
    var unsettled: Set<UInt64> = []
    /// `batched` requests waiting to be settled together, by item, in arrival order.
    var batches: [Int64: [(delivery: AMQPDelivery, request: PurchaseRequest)]] = [:]
    /// Requests per batched transaction, and settled requests per outcome/ack batch.
    let batchSize: Int

    var hasUnsent: Bool { !unacked.isEmpty || !batches.isEmpty }
    var unsentCount: Int { unacked.count }

    /// Publishes the outcomes of the settled requests (one message per run: an object for one
    /// outcome, an array for more), then acks them — outcome before ack, as for one.
    ///
    /// Settles the waiting batches first. One `basic.ack multiple` covers them all unless a request
    /// not yet settled (held for its gate, say) has a lower tag, which it would ack too; then each is
    /// acked alone.
    mutating func flush() throws {
        for item in batches.keys.sorted() { try settleBatch(of: item) }
        guard let highest = unacked.max() else { return }
        var start = unsentOutcomes.startIndex
        while start < unsentOutcomes.endIndex {
            let runId = unsentOutcomes[start].runId
            var end = start + 1
            while end < unsentOutcomes.endIndex && unsentOutcomes[end].runId == runId { end += 1 }
            let batch = unsentOutcomes[start..<end]
            try publishOutcomes(body: batch.count == 1 ? try codec.encode(batch[start]) : try codec.encode(Array(batch)), runId: runId)
            start = end
        }
        if unsettled.allSatisfy({ $0 > highest }) {
            try amqp.ack(highest, multiple: true)
        } else {
            for tag in unacked { try amqp.ack(tag) }
        }
        unsentOutcomes.removeAll(keepingCapacity: true)
        unacked.removeAll(keepingCapacity: true)
    }

    mutating func handleControl(_ delivery: AMQPDelivery) throws {
        guard let signal = try? codec.decode(GateSignal.self, from: delivery.body), signal.kind == .open else { return }
        // The harness repeats the signal while its run lasts; remember each run once.
        if !openedRuns.contains(signal.runId) {
            openedRuns.append(signal.runId)
            if openedRuns.count > 64 { openedRuns.removeFirst(openedRuns.count - 64) }
        }
        // One at a time, so `held` always lists every request received and not yet settled.
        while let index = held.firstIndex(where: { $0.request.runId == signal.runId }) {
            let entry = held.remove(at: index)
            try settle(entry.delivery, entry.request)
        }
    }

    mutating func handleRequest(_ delivery: AMQPDelivery) throws {
        unsettled.insert(delivery.deliveryTag)
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

    private mutating func settle(_ delivery: AMQPDelivery, _ request: PurchaseRequest) throws {
        if request.strategy == .batched && batchSize > 1 {
            batches[request.itemId, default: []].append((delivery, request))
            if batches[request.itemId]?.count ?? 0 >= batchSize { try settleBatch(of: request.itemId) }
            return
        }
        try record(delivery, request, try executor.settle(request, redelivered: delivery.redelivered, on: db))
    }

    /// Settles the waiting `batched` requests for `item` in one transaction; if that fails (a duplicate
    /// request id, a deadlock), each on its own instead.
    private mutating func settleBatch(of item: Int64) throws {
        guard let batch = batches.removeValue(forKey: item), !batch.isEmpty else { return }
        let attempts: [PurchaseAttempt]
        do {
            attempts = try BatchedStrategy().attempt(batch: batch.map { ($0.request, $0.delivery.redelivered) }, on: db)
        } catch let error as PostgresError where PurchaseExecutor.classify(error) != .connectionLost {
            logger.debug("Batch failed; settling its requests one by one", metadata: ["lab.error": "\(error.message)"])
            for entry in batch {
                try record(entry.delivery, entry.request, try executor.settle(entry.request, redelivered: entry.delivery.redelivered, on: db))
            }
            return
        }
        for (entry, attempt) in zip(batch, attempts) {
            let settlement: PurchaseExecutor.Settlement =
                switch attempt {
                case .purchased: .init(outcome: .purchased, retries: 0, error: nil)
                case .soldOut, .conflict: .init(outcome: .soldOut, retries: 0, error: nil)
                case .noSuchItem: .init(outcome: .deadLettered, retries: 0, error: "item \(item) does not exist")
                }
            try record(entry.delivery, entry.request, settlement)
        }
    }

    /// Queues the outcome of a settled request; it is published and the request acked at the next flush.
    private mutating func record(_ delivery: AMQPDelivery, _ request: PurchaseRequest, _ settlement: PurchaseExecutor.Settlement) throws {
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
        unsentOutcomes.append(outcome)
        unacked.append(delivery.deliveryTag)
        unsettled.remove(delivery.deliveryTag)
        logger.trace("Purchase settled", metadata: ["lab.strategy": "\(request.strategy.rawValue)", "lab.outcome": "\(settlement.outcome.rawValue)"])
    }

    /// Moves a request the worker cannot serve to the dead-letter queue, with the reason in a header,
    /// and tells its harness. The copy is confirmed before the original is acked, so a crash in between
    /// leaves the request on the queue (at worst dead-lettered twice), never lost.
    private mutating func deadLetter(_ delivery: AMQPDelivery, reason: String, request: PurchaseRequest?) throws {
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
        unsettled.remove(delivery.deliveryTag)
    }

    private func publish(_ outcome: OutcomeMessage) throws {
        try publishOutcomes(body: try codec.encode(outcome), runId: outcome.runId)
    }

    private func publishOutcomes(body: [UInt8], runId: UUID) throws {
        try amqp.publish(
            exchange: Topology.outcomes,
            routingKey: Topology.outcomeKey(runId: runId.uuidString),
            body: body,
            properties: AMQPMessageProperties(contentType: "application/json")
        )
    }
}
