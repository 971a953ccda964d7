import AMQP
import Foundation
import Logging
import RaceLabCore

/// `racelab.purchases.dlq`: the requests nobody could serve, read without taking them away.
///
/// Owns one AMQP connection, so it belongs to the thread that made it, and every method blocks (network
/// round trips, and in ``browse(limit:)`` up to 3 s for a first message and 300 ms for each next one).
/// Throws ``AMQPError`` when RabbitMQ cannot be reached or closes the connection.
public final class DeadLetterQueue {
    /// How long a browse waits for the next message before it decides it has seen them all.
    static let quietPeriod: Duration = .milliseconds(300)
    /// How long a browse waits for the first message of a queue that reports messages.
    static let firstMessageWait: Duration = .seconds(3)

    private let endpoint: AMQPEndpoint
    private var amqp: AMQPConnection
    private let logger: Logger

    /// Connects and declares the topology (so the queue exists even before any worker ran).
    public init(amqpURL: String, logger: Logger) throws {
        endpoint = try AMQPEndpoint(url: amqpURL)
        amqp = try AMQPConnection(endpoint: endpoint, connectionName: "racelab dead letters")
        self.logger = logger
        try Topology.declare(on: amqp)
    }

    /// Dead letters ready in the queue (not counting any another client holds unacknowledged).
    public func count() throws -> Int {
        try amqp.inspectQueue(Topology.deadLetters).messageCount
    }

    /// Removes every dead letter; returns how many.
    @discardableResult
    public func purge() throws -> Int {
        try amqp.purgeQueue(Topology.deadLetters)
    }

    /// Up to `limit` dead letters, in queue order, left in the queue.
    ///
    /// Consumes with manual acks and never acks: it reads until 300 ms pass with nothing new, then closes
    /// the connection, so the broker puts every message back, and reconnects. It reads the whole queue
    /// (up to 65,535 messages) even for a smaller `limit`: RabbitMQ puts returned messages at the back,
    /// so reading only the head would rotate the queue.
    public func browse(limit: Int) throws -> [DeadLetter] {
        try take(limit: limit) { _ in false }.kept
    }

    /// Removes the dead letters whose message id is in `messageIds` and leaves every other one, in order;
    /// returns how many it removed. Looks at the first 65,535 messages of the queue.
    @discardableResult
    public func remove(messageIds: Set<String>) throws -> Int {
        guard !messageIds.isEmpty else { return 0 }
        return try take(limit: 0) { letter in letter.messageId.map(messageIds.contains) ?? false }.removed.count
    }

    /// The most messages one browse holds unacknowledged (the prefetch is 16 bits).
    static let window = Int(UInt16.max)

    /// Reads the queue (up to ``window`` messages), acking those `shouldRemove` picks, and requeues the
    /// rest by reconnecting. Returns the first `limit` messages it left in the queue, and those it removed.
    private func take(limit: Int, shouldRemove: (DeadLetter) -> Bool) throws -> (kept: [DeadLetter], removed: [DeadLetter]) {
        let ready = try count()
        guard ready > 0 else { return ([], []) }
        // Nothing is acked while browsing, so the prefetch must let the whole queue through.
        let window = min(max(limit, ready), Self.window)
        try amqp.setPrefetch(UInt16(window))
        let tag = try amqp.consume(queue: Topology.deadLetters)

        var kept: [DeadLetter] = []
        var removed: [DeadLetter] = []
        var read = 0
        var wait = Self.firstMessageWait
        while read < window, let delivery = try amqp.nextDelivery(timeout: wait) {
            wait = Self.quietPeriod
            read += 1
            let letter = DeadLetter(body: delivery.body, properties: delivery.properties)
            if shouldRemove(letter) {
                try amqp.ack(delivery.deliveryTag)
                removed.append(letter)
            } else if kept.count < limit {
                kept.append(letter)
            }
        }
        try amqp.cancel(consumerTag: tag)
        try requeueUnacknowledged()
        try confirmReturned(atLeast: ready - removed.count)
        logger.debug("Dead letters read", metadata: ["lab.read": "\(read)", "lab.removed": "\(removed.count)"])
        return (kept, removed)
    }

    /// Closes the connection (the broker requeues every unacknowledged delivery of its channel) and opens a new one.
    private func requeueUnacknowledged() throws {
        amqp.close()
        amqp = try AMQPConnection(endpoint: endpoint, connectionName: "racelab dead letters")
    }

    /// Waits (up to two seconds) until the queue holds again at least the messages it held before a browse.
    ///
    /// The broker requeues on channel close, a moment after the close; a later `count()` must not see them missing.
    private func confirmReturned(atLeast expected: Int) throws {
        let deadline = ContinuousClock.now + .seconds(2)
        var seen = try count()
        while seen < expected, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.02)
            seen = try count()
        }
        if seen < expected {
            logger.warning(
                "Fewer dead letters after browsing than before; another client may have taken some",
                metadata: ["lab.before": "\(expected)", "lab.after": "\(seen)"]
            )
        }
    }
}
