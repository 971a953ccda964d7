import Foundation
import LabTestSupport
import Testing

@testable import AMQP

/// Behaviour against a live RabbitMQ found through `RACELAB_AMQP_URL`. Hermetic by its names: every test
/// declares queues and exchanges of its own (`uniqueName`), so it runs beside the other suites.
@Suite(.enabled(if: LiveServers.amqpURL != nil, LiveServers.skipNotice), .timeLimit(.minutes(2)))
struct AMQPConnectionTests {
    let endpoint: AMQPEndpoint

    init() throws {
        endpoint = try AMQPEndpoint(url: LiveServers.amqpURL ?? "")
    }

    /// Opens a connection on a dedicated thread, runs `body`, closes it.
    private func withConnection<Value: Sendable>(_ body: @escaping @Sendable (AMQPConnection) throws -> Value) async throws -> Value {
        let endpoint = endpoint
        return try await onThread {
            let connection = try AMQPConnection(endpoint: endpoint, connectionName: "AMQPTests")
            defer { connection.close() }
            return try body(connection)
        }
    }

    private static func uniqueName(_ label: String) -> String {
        "amqptests.\(label).\(UUID().uuidString.lowercased())"
    }

    private static let quorum: [String: AMQPFieldValue] = ["x-queue-type": .string("quorum")]

    /// Drains up to `count` deliveries, acking each, until `timeout` passes without one.
    private static func receive(_ count: Int, on connection: AMQPConnection, ack: Bool = true) throws -> [AMQPDelivery] {
        var deliveries: [AMQPDelivery] = []
        while deliveries.count < count, let delivery = try connection.nextDelivery(timeout: .seconds(5)) {
            deliveries.append(delivery)
            if ack { try connection.ack(delivery.deliveryTag) }
        }
        return deliveries
    }

    /// The sandbox broker (a URL with a user of its own) has no `guest`.
    @Test(.enabled(if: (try? AMQPEndpoint(url: LiveServers.amqpURL ?? ""))?.user != "guest"))
    func guestCannotLogInWhereTheBrokerHasAUserOfItsOwn() async throws {
        var guest = endpoint
        guest.user = "guest"
        guest.password = "guest"
        let refused = guest
        let error = await #expect(throws: AMQPError.self) {
            _ = try await onThread { _ = try AMQPConnection(endpoint: refused, connectionName: "AMQPTests guest") }
        }
        #expect(error?.kind == .login)
    }

    /// A consumer busy elsewhere for several heartbeat intervals (a database lock wait) is dropped by
    /// the broker, unless the work runs in `keepingAlive`.
    @Test func workInKeepingAliveOutlastsHeartbeatIntervalsAndTheConnectionSurvives() async throws {
        let endpoint = endpoint
        /// Busy for six seconds on a connection with a one-second heartbeat interval (the broker gives up
        /// on a silent client after a few seconds); whether the connection still works afterwards.
        @Sendable func survives(keptAlive: Bool) throws -> Bool {
            let connection = try AMQPConnection(endpoint: endpoint, heartbeatSeconds: 1, connectionName: "AMQPTests heartbeat")
            defer { connection.close() }
            if keptAlive {
                connection.keepingAlive { Thread.sleep(forTimeInterval: 6) }
            } else {
                Thread.sleep(forTimeInterval: 6)
            }
            let queue = Self.uniqueName("heartbeat")
            defer { try? connection.deleteQueue(queue) }
            return (try? connection.declareQueue(queue, durable: false, exclusive: true, autoDelete: true)) != nil
        }
        async let keptAlive = onThread { try survives(keptAlive: true) }
        async let silent = onThread { try survives(keptAlive: false) }
        let (kept, dropped) = try await (keptAlive, silent)
        #expect(kept)
        #expect(!dropped)
    }

    @Test func thousandPersistentPublishesAreAllConfirmedAndQueuedInAQuorumQueue() async throws {
        let queue = Self.uniqueName("confirms")
        let (unconfirmed, messageCount) = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            try connection.declareQueue(queue, arguments: Self.quorum)
            try connection.enableConfirms()
            var lastSequenceNumber: UInt64 = 0
            for index in 0..<1000 {
                lastSequenceNumber = try connection.publish(
                    routingKey: queue,
                    body: Array("message \(index)".utf8),
                    properties: AMQPMessageProperties(persistent: true)
                )
            }
            #expect(lastSequenceNumber == 1000)
            try connection.waitForConfirms(timeout: .seconds(30))
            return (connection.unconfirmedCount, try connection.inspectQueue(queue).messageCount)
        }
        #expect(unconfirmed == 0)
        #expect(messageCount == 1000)
    }

    @Test func consumerWithPrefetchReceivesAndAcksEveryMessageLeavingTheQueueEmpty() async throws {
        let queue = Self.uniqueName("consume")
        let count = 300
        let bodies = try await withConnection { connection in
            try connection.declareQueue(queue, arguments: Self.quorum)
            try connection.enableConfirms()
            for index in 0..<count {
                try connection.publish(routingKey: queue, body: Array("\(index)".utf8), properties: AMQPMessageProperties(persistent: true))
            }
            try connection.waitForConfirms(timeout: .seconds(30))
            try connection.setPrefetch(50)
            let tag = try connection.consume(queue: queue)
            let deliveries = try Self.receive(count, on: connection)
            try connection.cancel(consumerTag: tag)
            #expect(deliveries.allSatisfy { $0.consumerTag == tag && $0.routingKey == queue && !$0.redelivered })
            return deliveries.map { String(decoding: $0.body, as: UTF8.self) }
        }
        #expect(bodies.sorted() == (0..<count).map { "\($0)" }.sorted())
        // A fresh connection: had any ack been lost, closing the first one would have requeued the message.
        let remaining = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            return try connection.inspectQueue(queue).messageCount
        }
        #expect(remaining == 0)
    }

    @Test func messagePropertiesAndHeadersSurviveTheRoundTrip() async throws {
        let queue = Self.uniqueName("properties")
        let sent = AMQPMessageProperties(
            persistent: true,
            contentType: "application/json",
            messageId: "m-1",
            correlationId: "c-1",
            timestamp: 1_700_000_000,
            headers: ["x-reason": .string("because"), "x-attempt": .int64(3), "x-small": .int32(-7), "x-flag": .bool(true)]
        )
        let delivery = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            try connection.declareQueue(queue, durable: false, autoDelete: false)
            try connection.publish(routingKey: queue, body: [0, 1, 2, 255], properties: sent)
            try connection.consume(queue: queue, noAck: true)
            return try connection.nextDelivery(timeout: .seconds(5))
        }
        let received = try #require(delivery)
        #expect(received.body == [0, 1, 2, 255])
        #expect(received.exchange == "")
        #expect(received.properties == sent)
    }

    @Test func rejectedMessageWithoutRequeueIsDeadLetteredWithItsHeaders() async throws {
        let queue = Self.uniqueName("work")
        let deadLetterExchange = Self.uniqueName("dlx")
        let deadLetterQueue = Self.uniqueName("dlq")
        let deadLetter = try await withConnection { connection in
            defer {
                try? connection.deleteQueue(queue)
                try? connection.deleteQueue(deadLetterQueue)
                try? connection.deleteExchange(deadLetterExchange)
            }
            try connection.declareExchange(deadLetterExchange, type: "fanout", durable: false, autoDelete: false)
            try connection.declareQueue(deadLetterQueue, durable: false)
            try connection.bindQueue(deadLetterQueue, exchange: deadLetterExchange, routingKey: "")
            try connection.declareQueue(
                queue,
                arguments: ["x-queue-type": .string("quorum"), "x-dead-letter-exchange": .string(deadLetterExchange), "x-delivery-limit": .int64(5)]
            )
            try connection.enableConfirms()
            try connection.publish(
                routingKey: queue,
                body: Array("poison".utf8),
                properties: AMQPMessageProperties(persistent: true, messageId: "poison-1", headers: ["x-reason": .string("unparseable")])
            )
            try connection.waitForConfirms(timeout: .seconds(10))

            let workTag = try connection.consume(queue: queue)
            let original = try #require(try connection.nextDelivery(timeout: .seconds(5)))
            try connection.reject(original.deliveryTag, requeue: false)
            try connection.cancel(consumerTag: workTag)

            try connection.consume(queue: deadLetterQueue)
            let deadLetter = try connection.nextDelivery(timeout: .seconds(10))
            if let deadLetter { try connection.ack(deadLetter.deliveryTag) }
            return deadLetter
        }
        let received = try #require(deadLetter)
        #expect(String(decoding: received.body, as: UTF8.self) == "poison")
        #expect(received.exchange == deadLetterExchange)
        #expect(received.properties.messageId == "poison-1")
        #expect(received.properties.headers["x-reason"] == .string("unparseable"))
        #expect(received.properties.headers["x-first-death-reason"] == .string("rejected"))
        #expect(received.properties.headers["x-first-death-queue"] == .string(queue))
    }

    @Test func redeclaringAQueueWithOtherArgumentsThrowsPreconditionFailedAndTheConnectionStillWorks() async throws {
        let queue = Self.uniqueName("redeclare")
        let (error, messageCount) = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            try connection.declareQueue(queue, durable: false, arguments: ["x-max-length": .int64(10)])
            let error = #expect(throws: AMQPError.self) {
                try connection.declareQueue(queue, durable: false, arguments: ["x-max-length": .int64(20)])
            }
            try connection.publish(routingKey: queue, body: [1])
            try connection.enableConfirms()
            try connection.publish(routingKey: queue, body: [2])
            try connection.waitForConfirms(timeout: .seconds(10))
            return (error, try connection.inspectQueue(queue).messageCount)
        }
        #expect(error?.kind == .preconditionFailed)
        #expect(error?.replyCode == 406)
        #expect(error?.message.contains("PRECONDITION_FAILED") == true)
        #expect(error?.message.contains("x-max-length") == true)
        #expect(messageCount == 2)
    }

    @Test func inspectingAMissingQueueThrowsNotFoundAndTheConnectionStillWorks() async throws {
        let missing = Self.uniqueName("missing")
        let queue = Self.uniqueName("present")
        let (error, info) = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            let error = #expect(throws: AMQPError.self) { try connection.inspectQueue(missing) }
            try connection.declareQueue(queue, durable: false)
            try connection.enableConfirms()
            try connection.publish(routingKey: queue, body: [42])
            try connection.waitForConfirms(timeout: .seconds(10))
            return (error, try connection.inspectQueue(queue))
        }
        #expect(error?.kind == .notFound)
        #expect(error?.replyCode == 404)
        #expect(error?.message.contains("'\(missing)'") == true)
        #expect(info.name == queue)
        #expect(info.messageCount == 1)
    }

    @Test func publishingToAMissingExchangeSurfacesNotFoundWhileWaitingForConfirms() async throws {
        let queue = Self.uniqueName("after-404")
        let (error, messageCount) = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            try connection.declareQueue(queue, durable: false)
            try connection.enableConfirms()
            try connection.publish(exchange: Self.uniqueName("no-exchange"), routingKey: "x", body: [1])
            let error = #expect(throws: AMQPError.self) { try connection.waitForConfirms(timeout: .seconds(10)) }
            #expect(try connection.publish(routingKey: queue, body: [2]) == 1)
            try connection.waitForConfirms(timeout: .seconds(10))
            return (error, try connection.inspectQueue(queue).messageCount)
        }
        #expect(error?.kind == .notFound)
        #expect(error?.replyCode == 404)
        #expect(error?.message.contains("unconfirmed publish(es) lost") == true)
        #expect(messageCount == 1)
    }

    @Test func deliveriesArrivingWhileWaitingForConfirmsAreKeptForNextDelivery() async throws {
        let queue = Self.uniqueName("loopback")
        let bodies = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            try connection.declareQueue(queue, durable: false)
            try connection.consume(queue: queue)
            try connection.enableConfirms()
            for index in 0..<20 {
                try connection.publish(routingKey: queue, body: [UInt8(index)])
            }
            try connection.waitForConfirms(timeout: .seconds(10))
            return try Self.receive(20, on: connection).map(\.body)
        }
        #expect(bodies == (0..<20).map { [UInt8($0)] })
    }

    @Test func nextDeliveryReturnsNilWhenNothingArrivesInTime() async throws {
        let queue = Self.uniqueName("idle")
        let (idle, later) = try await withConnection { connection in
            defer { try? connection.deleteQueue(queue) }
            try connection.declareQueue(queue, durable: false)
            try connection.consume(queue: queue, noAck: true)
            let idle = try connection.nextDelivery(timeout: .milliseconds(300))
            try connection.publish(routingKey: queue, body: Array("late".utf8))
            let later = try connection.nextDelivery(timeout: .seconds(5))
            return (idle, later)
        }
        #expect(idle == nil)
        #expect(later.map { String(decoding: $0.body, as: UTF8.self) } == "late")
    }

    @Test func deletingTheQueueUnderAConsumerThrowsChannelClosedNamingTheQueue() async throws {
        let queue = Self.uniqueName("deleted")
        let endpoint = endpoint
        let (error, stillWorks) = try await withConnection { connection in
            try connection.declareQueue(queue, durable: false)
            try connection.consume(queue: queue)
            let other = try AMQPConnection(endpoint: endpoint)
            defer { other.close() }
            try other.deleteQueue(queue)
            let error = #expect(throws: AMQPError.self) { _ = try connection.nextDelivery(timeout: .seconds(10)) }
            return (error, try connection.declareQueue("", durable: false, exclusive: true).name.isEmpty == false)
        }
        #expect(error?.kind == .channelClosed)
        #expect(error?.message.contains("queue '\(queue)'") == true)
        #expect(stillWorks)
    }

    @Test func serverNamedQueueIsReturnedFromDeclare() async throws {
        let info = try await withConnection { connection in
            try connection.declareQueue("", durable: false, exclusive: true, autoDelete: true)
        }
        #expect(info.name.hasPrefix("amq.gen-"))
        #expect(info.messageCount == 0)
    }

    @Test func wrongPasswordThrowsLoginNamingTheServerAndUser() async throws {
        var endpoint = endpoint
        endpoint.password = "definitely-wrong"
        let error = try await onThread { [endpoint] in
            do {
                _ = try AMQPConnection(endpoint: endpoint)
                return AMQPError?.none
            } catch let error as AMQPError {
                return error
            }
        }
        #expect(error?.kind == .login)
        #expect(error?.message.hasPrefix("RabbitMQ at \(endpoint) refused login for user '\(endpoint.user)'") == true)
    }

    @Test func callsAfterCloseThrowConnectionClosed() async throws {
        let error = try await withConnection { connection in
            connection.close()
            return #expect(throws: AMQPError.self) { try connection.inspectQueue("anything") }
        }
        #expect(error?.kind == .connectionClosed)
    }
}
