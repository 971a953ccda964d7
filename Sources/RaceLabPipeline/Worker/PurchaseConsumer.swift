import AMQP
import Foundation
import Logging
import Postgres
import RaceLabCore
import Synchronization

/// The loop of one consumer thread: take a request off `racelab.purchases` (or a shard queue), settle
/// it with its strategy, publish the outcome, ack — in that order, so nothing is acked before its COMMIT.
///
/// What to do when is decided by a ``ConsumerStateMachine``; this thread owns the connections and
/// carries out its actions. Requests marked `gated` are held until the run's gate opens (a `GateSignal`
/// on `racelab.control`), so all consumers of all workers start in the same instant. Connection
/// failures are survived by reconnecting with backoff; unacked requests go back to the queue and are
/// redelivered.
final class PurchaseConsumer: Sendable {
    private let configuration: WorkerConfiguration
    private let index: Int
    private let stop: StopFlag
    private let logger: Logger
    /// Called once, the first time this consumer has subscribed to every queue it serves.
    private let ready: @Sendable () -> Void
    private let announced = Atomic<Bool>(false)

    init(configuration: WorkerConfiguration, index: Int, stop: StopFlag, logger: Logger, ready: @escaping @Sendable () -> Void = {}) {
        self.configuration = configuration
        self.index = index
        self.stop = stop
        self.logger = logger
        self.ready = ready
    }

    /// Runs until the stop flag is raised. Blocks the calling thread.
    func run() {
        var backoff = Backoff(initial: 0.2, ceiling: 5)
        while !stop.isRaised {
            do {
                try serve()
                backoff.reset()
            } catch {
                guard !stop.isRaised else { break }
                logger.warning(
                    "Consumer lost its connections; reconnecting",
                    metadata: ["lab.error": "\(error)", "lab.backoff_s": "\(backoff.current)"]
                )
                Thread.sleep(forTimeInterval: backoff.next())
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
        var shards: [String: Int] = [:]
        _ = try amqp.consume(queue: Topology.purchases)
        // A shard's one active consumer needs no more in hand than one outcome batch; a smaller window
        // also means fewer of its requests count a delivery each time its worker is killed.
        try amqp.setPrefetch(UInt16(clamping: min(Int(configuration.prefetch), configuration.batchSize)))
        // Every consumer stands by on every shard queue, each starting at another shard, so the first
        // consumers to subscribe (the active ones) spread over the threads.
        let offset = (Int(getpid()) &+ index) % Topology.shardCount
        for step in 0..<Topology.shardCount {
            let shard = (offset + step) % Topology.shardCount
            shards[try amqp.consume(queue: Topology.shardQueue(shard))] = shard
        }
        logger.debug("Consumer ready")
        if !announced.exchange(true, ordering: .acquiringAndReleasing) { ready() }

        var session = ConsumerSession(
            amqp: amqp,
            db: db,
            worker: "\(configuration.name)/\(index)",
            executor: PurchaseExecutor(policy: configuration.retryPolicy),
            logger: logger,
            machine: ConsumerStateMachine(batchSize: configuration.batchSize, gateTimeoutSeconds: configuration.gateTimeoutSeconds)
        )
        while !stop.isRaised {
            // Settled requests wait for their outcomes and acks while more requests are ready at once;
            // the batch goes out before the consumer would block, or when it is full.
            var delivery = session.machine.hasUnsent ? try amqp.nextDelivery(timeout: .zero) : nil
            if delivery == nil || session.machine.isFull {
                try session.flush()
            }
            if delivery == nil { delivery = try amqp.nextDelivery(timeout: .seconds(1)) }
            guard let delivery else {
                try session.perform(session.machine.tick(now: WallClock.nanoseconds()))
                continue
            }
            if delivery.consumerTag == controlTag {
                try session.handleControl(delivery)
            } else {
                try session.handleRequest(delivery, shard: shards[delivery.consumerTag])
            }
        }
        try? session.flush()
        amqp.close()
    }
}

/// One connected consumer: its connections, its state machine, and what carrying out the machine's
/// actions needs (the raw deliveries, the strategies loaded, the shards fenced).
private struct ConsumerSession {
    let amqp: AMQPConnection
    let db: PostgresConnection
    let worker: String
    let executor: PurchaseExecutor
    let logger: Logger
    var machine: ConsumerStateMachine
    let codec = MessageCodec()
    var resolver = StrategyResolver()
    /// Deliveries received and not yet acked, by tag: their bodies and headers go into dead letters.
    var raw: [UInt64: AMQPDelivery] = [:]
    /// Shards this session serves as the fenced owner (see ``fence(shard:)``).
    var fenced: Set<Int> = []

    init(amqp: AMQPConnection, db: PostgresConnection, worker: String, executor: PurchaseExecutor, logger: Logger, machine: ConsumerStateMachine) {
        self.amqp = amqp
        self.db = db
        self.worker = worker
        self.executor = executor
        self.logger = logger
        self.machine = machine
    }

    mutating func handleControl(_ delivery: AMQPDelivery) throws {
        guard let signal = try? codec.decode(GateSignal.self, from: delivery.body), signal.kind == .open else { return }
        try perform(machine.gateOpened(runId: signal.runId))
    }

    mutating func handleRequest(_ delivery: AMQPDelivery, shard: Int?) throws {
        let seen = ConsumerStateMachine.Delivery(tag: delivery.deliveryTag, redelivered: delivery.redelivered, shard: shard)
        raw[delivery.deliveryTag] = delivery
        guard delivery.body.count <= Topology.maxMessageBytes else {
            try perform(
                machine.rejected(seen, reason: "message too large (\(delivery.body.count) bytes > \(Topology.maxMessageBytes))", request: nil)
            )
            return
        }
        let request: PurchaseRequest
        do {
            request = try PurchaseRequest(json: delivery.body)
        } catch {
            try perform(machine.rejected(seen, reason: error.reason, request: nil))
            return
        }
        if let problem = request.validationProblem {
            try perform(machine.rejected(seen, reason: problem, request: request))
            return
        }
        let strategy: any PurchaseStrategy
        do {
            strategy = try resolver.strategy(for: request, on: db)
        } catch let unknown as StrategyResolver.Unknown {
            try perform(machine.rejected(seen, reason: unknown.reason, request: request))
            return
        }
        try perform(machine.received(seen, request, batches: strategy.traits.batches, now: WallClock.nanoseconds()))
    }

    /// Settles the waiting batches, then publishes the settled outcomes and acks them.
    mutating func flush() throws {
        try perform(machine.settleWaitingBatches())
        try perform(machine.publishSettled())
    }

    /// Carries out the machine's actions in order, with the actions they lead to.
    mutating func perform(_ actions: [ConsumerStateMachine.Action]) throws {
        for action in actions {
            switch action {
            case .settle(let delivery, let request):
                let strategy = try resolver.strategy(for: request, on: db)
                // Lock waits behind long think times can outlast two heartbeat intervals.
                let settlement = try amqp.keepingAlive {
                    if let shard = delivery.shard { try fence(shard: shard) }
                    return try executor.settle(request, with: strategy, redelivered: delivery.redelivered, on: db)
                }
                try perform(machine.settled(delivery, request, outcome: outcome(of: request, settlement)))
            case .settleBatch(let deliveries, let requests):
                guard let first = requests.first else { continue }
                let strategy = try resolver.strategy(for: first, on: db)
                let entries = zip(requests, deliveries).map { BatchEntry(request: $0, redelivered: $1.redelivered) }
                let settlements = try amqp.keepingAlive {
                    if let shard = deliveries.first?.shard { try fence(shard: shard) }
                    return try executor.settle(batch: entries, with: strategy, on: db)
                }
                for (index, settlement) in settlements.enumerated() {
                    try perform(machine.settled(deliveries[index], requests[index], outcome: outcome(of: requests[index], settlement)))
                }
            case .deadLetter(let delivery, let reason, let request):
                try deadLetter(delivery, reason: reason, request: request)
                machine.deadLettered(delivery)
            case .publish(let runId, let outcomes):
                let body = outcomes.count == 1 ? try codec.encode(outcomes[0]) : try codec.encode(outcomes)
                try publishOutcomes(body: body, runId: runId)
            case .ack(let tag, let multiple):
                try amqp.ack(tag, multiple: multiple)
                if multiple {
                    raw = raw.filter { $0.key > tag }
                } else {
                    raw[tag] = nil
                }
            }
        }
    }

    private func outcome(of request: PurchaseRequest, _ settlement: PurchaseExecutor.Settlement) -> OutcomeMessage {
        logger.trace("Purchase settled", metadata: ["lab.strategy": "\(request.strategy.rawValue)", "lab.outcome": "\(settlement.outcome.rawValue)"])
        return OutcomeMessage(
            requestId: request.requestId,
            runId: request.runId,
            itemId: request.itemId,
            strategy: request.strategy,
            outcome: settlement.outcome,
            retries: settlement.retries,
            aborts: settlement.aborts,
            worker: worker,
            finishedAt: WallClock.nanoseconds(),
            error: settlement.error,
            trace: settlement.trace
        )
    }

    /// Makes this session the only one in the database serving `shard`, once per session: the broker
    /// hands a shard to one consumer at a time, but a consumer killed a moment ago may still have a
    /// transaction in the server. Any other session holding the shard's advisory lock in this database
    /// (advisory locks are per database; a lab in another database on the same server is left alone) is terminated
    /// (waiting up to 10 s until it is gone, its transaction committed or rolled back), then the lock is
    /// taken and kept for as long as this session lives. Blocks.
    ///
    /// - Throws: `HarnessError` when the lock is still held after that (the message is redelivered
    ///   once this consumer reconnects); `PostgresError` when the connection is lost.
    private mutating func fence(shard: Int) throws {
        guard !fenced.contains(shard) else { return }
        let keys = [String(Self.fenceNamespace), String(shard)]
        _ = try db.execute(Self.terminateHolders, keys)
        guard try db.execute(Self.takeFence, keys).scalar == "t" else {
            throw HarnessError(message: "shard \(shard) is still held by another database session; reconnecting")
        }
        fenced.insert(shard)
        logger.debug("Serving a shard queue", metadata: ["lab.shard": "\(shard)"])
    }

    /// The first key of the shards' advisory locks (the second is the shard number).
    static let fenceNamespace: Int32 = 7_262_112
    static let terminateHolders = PreparedStatement(
        name: "fence_terminate",
        sql: """
            SELECT pg_terminate_backend(pid, 10000) FROM pg_locks
            WHERE locktype = 'advisory' AND classid = $1::integer::oid AND objid = $2::integer::oid AND objsubid = 2
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND granted AND pid <> pg_backend_pid()
            """
    )
    static let takeFence = PreparedStatement(name: "fence_take", sql: "SELECT pg_try_advisory_lock($1::integer, $2::integer)")

    /// Moves a request the worker cannot serve to the dead-letter queue, with the reason in a header,
    /// and tells its harness. The copy is confirmed before the original is acked, so a crash in between
    /// leaves the request on the queue (at worst dead-lettered twice), never lost.
    private mutating func deadLetter(_ delivery: ConsumerStateMachine.Delivery, reason: String, request: PurchaseRequest?) throws {
        logger.info("Dead-lettering a request", metadata: ["lab.reason": "\(reason)"])
        let original = raw[delivery.tag]
        var properties = original?.properties ?? AMQPMessageProperties()
        properties.persistent = true
        properties.headers[Topology.reasonHeader] = .string(reason)
        properties.headers[Topology.workerHeader] = .string(worker)
        properties.headers[Topology.deadLetteredAtHeader] = .int64(Int64(clamping: WallClock.nanoseconds()))
        var body = original?.body ?? []
        if original == nil, let request { body = try codec.encode(request) }
        // An oversized message is kept as an excerpt with its size: the queue holds what explains it, not all of it.
        if body.count > Topology.maxMessageBytes {
            properties.headers[Topology.originalBytesHeader] = .int64(Int64(body.count))
            body = Array(body.prefix(Topology.maxMessageBytes))
        }
        try amqp.publish(exchange: Topology.deadLetterExchange, routingKey: Topology.deadLetters, body: body, properties: properties)
        try amqp.waitForConfirms(timeout: .seconds(10))
        if let request {
            let outcome = OutcomeMessage(
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
            try publishOutcomes(body: try codec.encode(outcome), runId: request.runId)
        }
        try amqp.ack(delivery.tag)
        raw[delivery.tag] = nil
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
