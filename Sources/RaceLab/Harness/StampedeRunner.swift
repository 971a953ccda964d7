import AMQP
import Foundation
import Histogram
import Logging
import Postgres

/// Fires stampedes: resets the items, publishes every request while the workers are gated, opens the
/// gate, collects one outcome per request and checks the invariants against the database.
///
/// Owns one PostgreSQL and two AMQP connections (publisher with confirms, outcome collector); like them,
/// it belongs to the thread that made it, and every method blocks.
public final class StampedeRunner {
    private let db: PostgresConnection
    private let publisher: AMQPConnection
    private let collector: AMQPConnection
    private let logger: Logger
    private let codec = MessageCodec()

    /// Connects to both servers (each failing within seconds, naming the server) and declares the topology.
    public init(postgresURL: String, amqpURL: String, logger: Logger) throws {
        let endpoint = try AMQPEndpoint(url: amqpURL)
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

    /// Removes requests left on the queue by an earlier run that never finished; returns how many.
    @discardableResult
    public func purgeLeftovers() throws -> Int {
        try publisher.purgeQueue(Topology.purchases)
    }

    /// Runs one stampede of `plan` against `strategy`.
    ///
    /// - Parameter progress: called as outcomes arrive with (settled, total).
    public func run(
        strategy: StrategyName,
        configuration: StampedeConfiguration,
        plan: StampedePlan,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> RunReport {
        let runId = UUID()
        try Schema.reset(items: configuration.items, stock: configuration.stock, on: db)

        let outcomeQueue = try collector.declareQueue("", durable: false, exclusive: true, autoDelete: true).name
        try collector.bindQueue(outcomeQueue, exchange: Topology.outcomes, routingKey: Topology.outcomeKey(runId: runId.uuidString))
        let consumerTag = try collector.consume(queue: outcomeQueue, noAck: true)
        defer { try? collector.cancel(consumerTag: consumerTag) }

        var pending = Set<UUID>()
        pending.reserveCapacity(plan.buyers.count)
        let properties = AMQPMessageProperties(persistent: true, contentType: "application/json")
        for (index, buyer) in plan.buyers.enumerated() {
            let request = PurchaseRequest(
                runId: runId,
                itemId: buyer.itemId,
                buyerId: buyer.buyerId,
                quantity: configuration.quantity,
                strategy: strategy,
                thinkMs: configuration.thinkMs,
                publishedAt: WallClock.nanoseconds(),
                gated: true
            )
            pending.insert(request.requestId)
            try publisher.publish(routingKey: Topology.purchases, body: try codec.encode(request), properties: properties)
            if index % 256 == 255 { try publisher.pollConfirms() }
        }
        try publisher.waitForConfirms(timeout: .seconds(60))
        logger.debug("Stampede published", metadata: ["lab.run": "\(runId)", "lab.requests": "\(plan.buyers.count)"])

        let gateOpened = WallClock.nanoseconds()
        try publisher.publish(
            exchange: Topology.control,
            routingKey: "",
            body: try codec.encode(GateSignal(runId: runId, at: gateOpened))
        )
        try publisher.waitForConfirms(timeout: .seconds(10))

        var counts = OutcomeCounts()
        var histogram = LatencySummary.makeHistogram()
        var retries = 0
        var lastFinish = gateOpened
        var lastArrival = Date()
        let total = plan.buyers.count
        while !pending.isEmpty {
            guard let delivery = try collector.nextDelivery(timeout: .milliseconds(250)) else {
                if Date().timeIntervalSince(lastArrival) > configuration.idleTimeoutSeconds {
                    logger.warning(
                        "No outcome for a while; giving up on the rest",
                        metadata: ["lab.missing": "\(pending.count)", "lab.idle_s": "\(configuration.idleTimeoutSeconds)"]
                    )
                    break
                }
                continue
            }
            lastArrival = Date()
            guard let outcome = try? codec.decode(OutcomeMessage.self, from: delivery.body),
                pending.remove(outcome.requestId) != nil
            else { continue }  // a duplicate after redelivery, or not ours
            counts.record(outcome.outcome)
            retries += outcome.retries
            let finished = max(outcome.finishedAt, gateOpened)
            lastFinish = max(lastFinish, finished)
            _ = histogram.record(max(1, (finished - gateOpened) / 1000))
            progress(total - pending.count, total)
        }
        counts.indeterminate = pending.count

        let observation = try RunObservation.read(runId: runId, on: db)
        let violations = InvariantChecker().violations(
            observation: observation,
            published: total,
            outcomes: counts,
            purchasedOutcomes: counts.purchased
        )
        return RunReport(
            strategy: strategy,
            runId: runId,
            configuration: configuration,
            observation: observation,
            outcomes: counts,
            retries: retries,
            latencyMs: LatencySummary(microseconds: histogram),
            durationSec: Double(lastFinish - gateOpened) / 1e9,
            violations: violations
        )
    }
}

/// A stampede that cannot be fired or finished, said in one line.
public struct HarnessError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
