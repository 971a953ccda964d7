import AMQP
import Foundation
import Histogram
import Logging
import Postgres
import RaceLabCore

/// Fires stampedes: resets the items, publishes every request while the workers are gated, opens the
/// gate, collects one outcome per request and checks the invariants against the database.
///
/// Owns one PostgreSQL and two AMQP connections (publisher with confirms, outcome collector); like them,
/// it belongs to the thread that made it, and every method blocks.
public final class StampedeRunner {
    private var db: PostgresConnection
    private var publisher: AMQPConnection
    private var collector: AMQPConnection
    private var collectorTag: String?
    private let endpoint: AMQPEndpoint
    private let postgresURL: String
    private let amqpURL: String
    private let logger: Logger
    private let codec = MessageCodec()

    /// Connects to both servers (each failing within seconds, naming the server) and declares the topology.
    public init(postgresURL: String, amqpURL: String, logger: Logger) throws {
        endpoint = try AMQPEndpoint(url: amqpURL)
        self.postgresURL = postgresURL
        self.amqpURL = amqpURL
        db = try PostgresConnection(url: postgresURL, applicationName: "racelab-harness")
        publisher = try AMQPConnection(endpoint: endpoint, connectionName: "racelab harness")
        collector = try AMQPConnection(endpoint: endpoint, connectionName: "racelab harness outcomes")
        self.logger = logger
        try Schema.ensure(on: db)
        try Topology.declare(on: publisher)
        try publisher.enableConfirms()
    }

    /// Consumers currently attached to `racelab.purchases`.
    public func consumerCount() throws -> Int {
        try publisher.inspectQueue(Topology.purchases).consumerCount
    }

    /// Waits until at least `count` consumers serve `racelab.purchases`.
    ///
    /// - Parameter failure: asked while waiting; a non-nil answer (say, "worker 2 exited: …") ends the wait with that error.
    public func waitForConsumers(atLeast count: Int, timeoutSeconds: Double, failure: () -> String? = { nil }) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var seen = try consumerCount()
        while seen < count {
            if let problem = failure() { throw HarnessError(message: problem) }
            guard Date() < deadline else {
                throw HarnessError(
                    message: count == 1
                        ? "no worker is consuming \(Topology.purchases); start `racelab worker` or pass --workers N"
                        : "only \(seen) of \(count) worker consumers came up within \(Int(timeoutSeconds)) s"
                )
            }
            Thread.sleep(forTimeInterval: 0.05)
            seen = try consumerCount()
        }
    }

    /// Empties the orders and sets items `1...items` to `stock` (what every run does first), for
    /// benchmarks that drive the database by other means between runs.
    ///
    /// A reset that collides with a transaction still running (a worker finishing a request of an
    /// earlier run) and is chosen as a deadlock victim is tried again, a few times.
    /// With a `run` id the items are fenced for that run: no other run's request can buy them until
    /// the fence is released (see ``Schema``).
    public func resetItems(_ items: Int, stock: Int, keeping: StrategyTraits.Stock = .itemRow, run: UUID? = nil) throws {
        var attempt = 0
        while true {
            do {
                return try withDatabase { db in try Schema.reset(items: items, stock: stock, keeping: keeping, run: run, on: db) }
            } catch let error as PostgresError where PurchaseExecutor.classify(error) == .aborted && attempt < 5 {
                attempt += 1
                logger.notice("Resetting the items collided with another transaction; trying again", metadata: ["lab.error": "\(error.message)"])
                Thread.sleep(forTimeInterval: 0.1 * Double(attempt))
            }
        }
    }

    /// A checkpoint before a measured side (see ``Schema/checkpoint(on:)``); false when the role may not.
    @discardableResult
    public func checkpoint() throws -> Bool {
        try withDatabase { db in try Schema.checkpoint(on: db) }
    }

    /// Removes requests left on the queues by an earlier run that never finished; returns how many.
    @discardableResult
    public func purgeLeftovers() throws -> Int {
        try Topology.requestQueues.reduce(0) { $0 + (try publisher.purgeQueue($1)) }
    }

    /// Checks a strategy file against the server and registers it, so that every worker can load it. Blocks.
    ///
    /// - Throws: ``SpecError`` naming the file and the step when the server refuses it.
    public func register(_ strategy: UserStrategy, file: String) throws {
        try withDatabase { db in try StrategyRegistry.register(strategy, file: file, on: db) }
    }

    /// The strategies registered in the database, latest definition of each name. Blocks.
    public func registeredStrategies() throws -> [UserStrategy] {
        try withDatabase { db in try StrategyRegistry.all(on: db) }
    }

    /// Runs one stampede against the strategy `name` of `catalog` (see ``run(strategy:configuration:plan:transport:history:tick:progress:)``).
    public func run(
        strategy name: StrategyName,
        catalog: StrategyCatalog = StrategyCatalog(),
        configuration: StampedeConfiguration,
        plan: StampedePlan,
        transport: StampedeTransport = .queue,
        history: RunHistory? = nil,
        trace: RunTrace? = nil,
        tick: () -> Void = {},
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> RunReport {
        guard let strategy = catalog.strategy(named: name) else {
            throw HarnessError(message: "unknown strategy '\(name)' (known: \(catalog.namesList))")
        }
        return try run(
            strategy: strategy,
            configuration: configuration,
            plan: plan,
            transport: transport,
            history: history,
            trace: trace,
            tick: tick,
            progress: progress
        )
    }

    /// Runs one stampede of `plan` against `strategy`.
    ///
    /// Survives the broker closing the outcome connection and the database restarting: the run's outcome
    /// queue outlives a connection (it expires 10 minutes after its last use), and both connections are
    /// re-established with backoff. Requests still without an outcome at the end are looked up in the
    /// orders (an order proves a purchase); the rest are `indeterminate`, never guessed.
    ///
    /// - Parameters:
    ///   - transport: publish straight to the queue, or send every request through a `racelab serve` API
    ///     (`POST /purchases`, 32 in flight), so the API's cost shows in the numbers.
    ///   - history: receives every request's invoke and completion, for `--history`.
    ///   - trace: when given, every request asks its worker for a trace of its attempts, collected here.
    ///   - tick: called every quarter second or so while outcomes are awaited (fault injection, supervision).
    ///   - progress: called as outcomes arrive with (settled, total).
    public func run(
        strategy: any PurchaseStrategy,
        configuration: StampedeConfiguration,
        plan: StampedePlan,
        transport: StampedeTransport = .queue,
        history: RunHistory? = nil,
        trace: RunTrace? = nil,
        tick: () -> Void = {},
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> RunReport {
        if let problem = configuration.problem(for: strategy) { throw HarnessError(message: problem) }
        let runId = UUID()
        let traits = strategy.traits
        let isolation = configuration.isolation(for: strategy)
        // Fenced for this run: requests an earlier run left queued, held or in flight cannot buy its stock.
        try resetItems(configuration.items, stock: configuration.stock, keeping: traits.stock, run: runId)
        let outcomeQueue = "\(Topology.outcomes).\(runId.uuidString)"
        try attachCollector(to: outcomeQueue, runId: runId)
        defer {
            // After the observation (or a failure): the items are free for the API's purchases again.
            try? Schema.releaseFence(run: runId, on: db)
            // Cancel first: deleting a queue under its consumer makes the broker cancel it, which the
            // next run would take for a lost connection.
            if let collectorTag { try? collector.cancel(consumerTag: collectorTag) }
            try? collector.deleteQueue(outcomeQueue)
        }

        // Request id → the instant its latency counts from (open loop: its intended send time; a
        // stampede: 0, meaning the gate). Twenty-odd bytes a request: the harness stays small.
        var tally = OutcomeTally(total: plan.buyers.count, history: history, trace: trace)
        tally.pending.reserveCapacity(plan.buyers.count)
        let publishStarted = WallClock.nanoseconds()
        // Open loop (`ratePerSec`, over the queue only): request i is due at start + i/rate whether or
        // not earlier ones finished, and goes out ungated; when the harness falls behind it sends at
        // once, and the latency still counts from the due time. Otherwise every request waits for the gate.
        let interval = transport == .queue ? configuration.ratePerSec.map { 1e9 / $0 } : nil
        let gated = interval == nil
        let idleTimeout = configuration.idleTimeoutSeconds
        switch transport {
        case .queue:
            let properties = AMQPMessageProperties(persistent: true, contentType: "application/json")
            var lastTick = publishStarted
            for (index, buyer) in plan.buyers.enumerated() {
                var due: UInt64 = 0  // the gate
                if let interval {
                    due = publishStarted + UInt64(Double(index) * interval)
                    while case let now = WallClock.nanoseconds(), now < due {
                        if now - lastTick > 250_000_000 {
                            tick()
                            lastTick = now
                        }
                        try collect(
                            from: outcomeQueue,
                            runId: runId,
                            timeout: .nanoseconds(Int64(due - now)),
                            idleTimeout: idleTimeout,
                            into: &tally,
                            gate: 0
                        )
                    }
                }
                let request = makeRequest(
                    buyer,
                    runId: runId,
                    strategy: strategy,
                    configuration: configuration,
                    publishedAt: gated ? WallClock.nanoseconds() : due,
                    gated: gated,
                    traced: trace != nil
                )
                tally.pending[request.requestId] = due
                history?.invoked(request)
                trace?.invoked(request)
                try publish(
                    request,
                    to: Topology.queue(for: request, delivery: traits.delivery),
                    properties: properties,
                    index: index,
                    of: plan.buyers.count
                )
            }
            try confirmStampede()
        case .http(let baseURL):  // the API's requests are gated: a rate is not applied (the CLI refuses it)
            var requests: [PurchaseRequest] = []
            requests.reserveCapacity(plan.buyers.count)
            for buyer in plan.buyers {
                let request = makeRequest(
                    buyer,
                    runId: runId,
                    strategy: strategy,
                    configuration: configuration,
                    publishedAt: WallClock.nanoseconds(),
                    gated: true,
                    traced: trace != nil
                )
                tally.pending[request.requestId] = 0
                history?.invoked(request)
                trace?.invoked(request)
                requests.append(request)
            }
            try HTTPStampedePublisher(baseURL: baseURL).publish(requests)
        }
        let gateOpened = gated ? WallClock.nanoseconds() : publishStarted
        let publishSec = Double(WallClock.nanoseconds() - publishStarted) / 1e9
        logger.debug("Stampede published", metadata: ["lab.run": "\(runId)", "lab.requests": "\(plan.buyers.count)"])

        if gated { try openGate(GateSignal(runId: runId, at: gateOpened)) }
        tally.lastFinish = max(tally.lastFinish, gateOpened)
        tally.lastArrival = Date()
        var lastGateSignal = Date()
        while !tally.pending.isEmpty {
            tick()
            // Workers that joined after the gate opened (restarted after a crash) never saw the signal:
            // repeat it while the run lasts, so a late joiner holds a gated request a quarter second at most.
            if gated && Date().timeIntervalSince(lastGateSignal) > 0.25 {
                repeatGate(GateSignal(runId: runId, at: gateOpened))
                lastGateSignal = Date()
            }
            try collect(from: outcomeQueue, runId: runId, timeout: .milliseconds(250), idleTimeout: idleTimeout, into: &tally, gate: gateOpened)
            progress(tally.total - tally.pending.count, tally.total)
            if Date().timeIntervalSince(tally.lastArrival) > idleTimeout {
                logger.warning(
                    "No outcome for a while; giving up on the rest",
                    metadata: ["lab.missing": "\(tally.pending.count)", "lab.idle_s": "\(idleTimeout)"]
                )
                break
            }
        }
        var counts = tally.counts
        var pending = tally.pending
        let total = tally.total

        let (observation, bought) = try withDatabase { db in
            (
                try RunObservation.read(runId: runId, items: configuration.items, keeping: traits.stock, on: db),
                try Self.ordered(Array(pending.keys), on: db)
            )
        }
        // An order proves the purchase even when its outcome never arrived (a worker died after COMMIT).
        for requestId in bought {
            pending[requestId] = nil
            counts.record(.purchased)
            history?.recovered(requestId: requestId, runId: runId)
        }
        // A request over the queue's delivery limit (its workers kept dying) is in the dead-letter queue.
        if !pending.isEmpty, let deadLetters = try? DeadLetterQueue(amqpURL: amqpURL, logger: logger),
            let letters = try? deadLetters.browse(limit: 65_535)
        {
            for letter in letters where letter.runId == runId {
                guard let requestId = letter.requestId, pending.removeValue(forKey: requestId) != nil else { continue }
                counts.record(.deadLettered)
                history?.deadLettered(requestId: requestId, reason: letter.reason)
            }
        }
        counts.indeterminate = pending.count
        for requestId in pending.keys { history?.indeterminate(requestId: requestId) }

        let violations = InvariantChecker().violations(
            observation: observation,
            published: total,
            outcomes: counts,
            purchasedOutcomes: counts.purchased
        )
        var perItem = observation
        for index in perItem.items.indices {
            perItem.items[index].turnedAway = tally.turnedAway[perItem.items[index].itemId, default: 0]
        }
        return RunReport(
            strategy: strategy.name,
            runId: runId,
            configuration: configuration,
            isolation: isolation,
            observation: perItem,
            outcomes: counts,
            retries: tally.retries,
            aborts: tally.aborts,
            latencyMs: LatencySummary(microseconds: tally.histogram),
            durationSec: Double(tally.lastFinish - gateOpened) / 1e9,
            violations: violations,
            latencyCurve: LatencySummary.curve(microseconds: tally.histogram),
            via: transport.name,
            publishSec: publishSec
        )
    }

    /// One buyer's request of this run, at the strategy's isolation level for the stampede and naming
    /// the version of a strategy from a file (the API stamps its own time when it publishes).
    private func makeRequest(
        _ buyer: StampedePlan.Buyer,
        runId: UUID,
        strategy: any PurchaseStrategy,
        configuration: StampedeConfiguration,
        publishedAt: UInt64,
        gated: Bool,
        traced: Bool
    ) -> PurchaseRequest {
        PurchaseRequest(
            runId: runId,
            itemId: buyer.itemId,
            buyerId: buyer.buyerId,
            quantity: configuration.quantity,
            strategy: strategy.name,
            thinkMs: configuration.thinkMs,
            publishedAt: publishedAt,
            gated: gated,
            isolation: configuration.isolation(for: strategy),
            strategyVersion: (strategy as? UserStrategy)?.version,
            trace: traced
        )
    }

    /// Publishes one request of the stampede to `queue`, reading confirms every 256 so they never pile up.
    private func publish(_ request: PurchaseRequest, to queue: String, properties: AMQPMessageProperties, index: Int, of count: Int) throws {
        do {
            try publisher.publish(routingKey: queue, body: try codec.encode(request), properties: properties)
            if index % 256 == 255 { try publisher.pollConfirms() }
        } catch let error as AMQPError {
            throw HarnessError(message: "lost RabbitMQ while publishing the stampede (\(index) of \(count) sent): \(error.message)")
        }
    }

    /// Waits until RabbitMQ has confirmed every request published.
    private func confirmStampede() throws {
        do {
            try publisher.waitForConfirms(timeout: .seconds(60))
        } catch let error as AMQPError {
            throw HarnessError(message: "RabbitMQ did not confirm the stampede's requests: \(error.message)")
        }
    }

    /// Takes at most one message off the run's outcome queue (waiting up to `timeout`) and records the
    /// outcomes in it, their latency counted from `gate` unless they have a due time of their own;
    /// reconnects when the broker dropped the connection, for up to `idleTimeout` after the last outcome.
    private func collect(
        from outcomeQueue: String,
        runId: UUID,
        timeout: Duration,
        idleTimeout: Double,
        into tally: inout OutcomeTally,
        gate: UInt64
    ) throws {
        let delivery: AMQPDelivery?
        do {
            delivery = try collector.nextDelivery(timeout: timeout)
        } catch let error as AMQPError {
            logger.warning("Lost the outcome connection; reconnecting", metadata: ["lab.error": "\(error.message)"])
            try reattachCollector(to: outcomeQueue, runId: runId, until: tally.lastArrival.addingTimeInterval(idleTimeout))
            return
        }
        guard let delivery else { return }
        tally.lastArrival = Date()
        for outcome in (try? codec.decodeOutcomes(from: delivery.body)) ?? [] { tally.record(outcome, gate: gate) }
    }

    /// Request ids among `requestIds` that have an order.
    private static func ordered(_ requestIds: [UUID], on db: PostgresConnection) throws -> [UUID] {
        guard !requestIds.isEmpty else { return [] }
        let array = PostgresConnection.arrayLiteral(requestIds.map(\.uuidString))
        return try db.query("SELECT request_id FROM orders WHERE request_id = ANY($1::uuid[])", [array]).rows.compactMap {
            $0.first.flatMap { $0 }.flatMap { UUID(uuidString: $0) }
        }
    }

    /// Declares the run's outcome queue (surviving reconnects, expiring when unused) and consumes it.
    private func attachCollector(to queue: String, runId: UUID) throws {
        try collector.declareQueue(queue, durable: false, arguments: ["x-expires": .int64(600_000)])
        try collector.bindQueue(queue, exchange: Topology.outcomes, routingKey: Topology.outcomeKey(runId: runId.uuidString))
        collectorTag = try collector.consume(queue: queue, noAck: true)
    }

    private func reattachCollector(to queue: String, runId: UUID, until deadline: Date) throws {
        var backoff = Backoff(initial: 0.1, ceiling: 2)
        while true {
            do {
                collector = try AMQPConnection(endpoint: endpoint, connectionName: "racelab harness outcomes")
                try attachCollector(to: queue, runId: runId)
                return
            } catch let error as AMQPError {
                guard Date().addingTimeInterval(backoff.current) < deadline else {
                    throw HarnessError(message: "lost RabbitMQ at \(endpoint) during the run and could not reconnect: \(error.message)")
                }
                Thread.sleep(forTimeInterval: backoff.next())
            }
        }
    }

    /// Publishes the gate signal, reconnecting once if the broker dropped the publisher meanwhile.
    private func openGate(_ signal: GateSignal) throws {
        let body = try codec.encode(signal)
        do {
            try publisher.publish(exchange: Topology.control, routingKey: "", body: body)
            try publisher.waitForConfirms(timeout: .seconds(10))
        } catch is AMQPError {
            publisher = try AMQPConnection(endpoint: endpoint, connectionName: "racelab harness")
            try publisher.enableConfirms()
            try publisher.publish(exchange: Topology.control, routingKey: "", body: body)
            try publisher.waitForConfirms(timeout: .seconds(10))
        }
    }

    /// Publishes the gate signal again, best effort: a publisher the broker dropped is replaced (once
    /// per call; the next call tries again), so workers that reconnected still learn the gate is open.
    private func repeatGate(_ signal: GateSignal) {
        do {
            try publisher.publish(exchange: Topology.control, routingKey: "", body: try codec.encode(signal))
            try publisher.pollConfirms()
        } catch {
            logger.debug("Repeating the gate signal failed; reconnecting the publisher", metadata: ["lab.error": "\(error)"])
            if let fresh = try? AMQPConnection(endpoint: endpoint, connectionName: "racelab harness"), (try? fresh.enableConfirms()) != nil {
                publisher = fresh
            }
        }
    }

    /// Runs `body` on the database connection, reconnecting with backoff (up to a minute) when the
    /// server went away — it may be restarting.
    private func withDatabase<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(60)
        var backoff = Backoff(initial: 0.1, ceiling: 2)
        while true {
            do {
                return try body(db)
            } catch let error as PostgresError where error.kind == .connectionLost || error.kind == .connect {
                guard Date() < deadline else { throw error }
                logger.warning("Lost PostgreSQL; reconnecting", metadata: ["lab.error": "\(error.message)"])
                Thread.sleep(forTimeInterval: backoff.next())
                if let fresh = try? PostgresConnection(url: postgresURL, applicationName: "racelab-harness") { db = fresh }
            }
        }
    }
}

/// What the harness knows of a run's outcomes so far.
struct OutcomeTally {
    let total: Int
    let history: RunHistory?
    let trace: RunTrace?
    /// Requests without an outcome yet → the instant their latency counts from (0: the gate).
    var pending: [UUID: UInt64] = [:]
    var counts = OutcomeCounts()
    var histogram = LatencySummary.makeHistogram()
    var retries = 0
    var aborts = 0
    /// Buyers turned away (sold out or gave up), by item: the undersold check needs them.
    var turnedAway: [Int64: Int] = [:]
    var lastFinish: UInt64 = 0
    var lastArrival = Date()

    init(total: Int, history: RunHistory?, trace: RunTrace? = nil) {
        self.total = total
        self.history = history
        self.trace = trace
    }

    /// Counts an outcome once; duplicates (after a redelivery) and strangers are ignored.
    mutating func record(_ outcome: OutcomeMessage, gate: UInt64) {
        guard let origin = pending.removeValue(forKey: outcome.requestId) else { return }
        counts.record(outcome.outcome)
        retries += outcome.retries
        aborts += outcome.aborts
        if outcome.outcome == .soldOut || outcome.outcome == .gaveUp { turnedAway[outcome.itemId, default: 0] += 1 }
        history?.completed(outcome)
        trace?.completed(outcome)
        let start = origin == 0 ? gate : origin
        let finished = max(outcome.finishedAt, start)
        lastFinish = max(lastFinish, finished)
        _ = histogram.record(max(1, (finished - start) / 1000))
    }
}

/// A stampede that cannot be fired or finished, said in one line.
public struct HarnessError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
