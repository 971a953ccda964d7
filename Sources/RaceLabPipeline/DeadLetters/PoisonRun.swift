import AMQP
import Foundation
import Logging
import Postgres
import RaceLabCore

/// Fires the poison corpus at the workers and watches where each message ends up.
///
/// Publishes every ``PoisonCorpus`` message straight to `racelab.purchases` (persistent, confirmed, each
/// with its own message id), then browses `racelab.purchases.dlq` until each has arrived or time runs out,
/// and counts the orders written meanwhile. It does not start workers: the caller makes sure some consume.
///
/// Owns one PostgreSQL and two AMQP connections; like them it belongs to the thread that made it, and
/// every method blocks.
public final class PoisonRun {
    private let db: PostgresConnection
    private let publisher: AMQPConnection
    /// The dead-letter queue the poison is looked for in.
    public let deadLetters: DeadLetterQueue
    private let logger: Logger

    /// Connects to both servers, creates the tables and declares the topology.
    public init(postgresURL: String, amqpURL: String, logger: Logger) throws {
        db = try PostgresConnection(url: postgresURL, applicationName: "racelab-poison")
        publisher = try AMQPConnection(endpoint: try AMQPEndpoint(url: amqpURL), connectionName: "racelab poison")
        deadLetters = try DeadLetterQueue(amqpURL: amqpURL, logger: logger)
        self.logger = logger
        try Schema.ensure(on: db)
        try Topology.declare(on: publisher)
        try publisher.enableConfirms()
    }

    /// Publishes the corpus and waits up to `timeoutSeconds` for all of it to be dead-lettered.
    ///
    /// Creates one item (stock 10) only when the items table is empty, so the messages that are meant to
    /// be right name an item that exists; never touches anyone's orders otherwise.
    /// - Parameter workersAlive: asked once at the end: did every worker survive?
    public func run(timeoutSeconds: Double, workersAlive: () throws -> Bool = { true }) throws -> PoisonReport {
        let itemId = try existingItem()
        let ordersBefore = try orderCount()
        let runId = UUID()
        let corpus = PoisonCorpus.messages(runId: runId, itemId: itemId)
        for message in corpus {
            let properties = AMQPMessageProperties(persistent: true, contentType: "application/json", messageId: message.messageId)
            try publisher.publish(routingKey: Topology.purchases, body: message.body, properties: properties)
        }
        try publisher.waitForConfirms(timeout: .seconds(10))
        logger.debug("Poison published", metadata: ["lab.run": "\(runId)", "lab.messages": "\(corpus.count)"])

        let found = try waitForDeadLetters(Set(corpus.map(\.messageId)), timeoutSeconds: timeoutSeconds)
        let ordersWritten = try orderCount() - ordersBefore
        let entries = corpus.map { message in
            PoisonReport.Entry(
                name: message.name,
                messageId: message.messageId,
                summary: message.summary,
                deadLettered: found[message.messageId] != nil,
                reason: found[message.messageId]?.reason
            )
        }
        return PoisonReport(runId: runId, messages: entries, ordersWritten: ordersWritten, workersAlive: try workersAlive())
    }

    /// Browses the dead-letter queue until every message id in `messageIds` is there or time runs out.
    ///
    /// - Returns: the dead letters found, by message id.
    public func waitForDeadLetters(_ messageIds: Set<String>, timeoutSeconds: Double) throws -> [String: DeadLetter] {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var found: [String: DeadLetter] = [:]
        while true {
            for letter in try deadLetters.browse(limit: Int(UInt16.max)) {
                guard let id = letter.messageId, messageIds.contains(id), found[id] == nil else { continue }
                found[id] = letter
            }
            if found.count == messageIds.count || Date() >= deadline { return found }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }

    /// The lowest item id, after creating item 1 (stock 10) if there are no items at all.
    private func existingItem() throws -> Int64 {
        if let id = try db.execute("SELECT min(id) FROM items").scalar.flatMap({ Int64($0) }) { return id }
        try Schema.reset(items: 1, stock: 10, on: db)
        return 1
    }

    private func orderCount() throws -> Int {
        try db.execute("SELECT count(*) FROM orders").int(0, 0) ?? 0
    }
}
