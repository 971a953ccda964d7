import AMQP
import Foundation
import LabTestSupport
import Postgres
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// Poison requests against a real worker, and the dead-letter queue read without draining it.
/// Nested in `LiveLab`: these purge the dead-letter queue and fire stampedes that reset the items.
extension LiveLab {
    @Suite struct PoisonTests {
        /// Publishes dead letters straight to `racelab.dlx`, as a worker would, each with a reason header.
        static func publishDeadLetters(_ ids: [String], reason: String = "field itemId: expected an integer, got a string") throws {
            let amqp = try AMQPConnection(endpoint: try AMQPEndpoint(url: LabEnvironment.servers.amqpURL), connectionName: "racelab poison tests")
            defer { amqp.close() }
            try Topology.declare(on: amqp)
            try amqp.enableConfirms()
            for id in ids {
                let properties = AMQPMessageProperties(
                    persistent: true,
                    messageId: id,
                    headers: [Topology.reasonHeader: .string(reason), Topology.workerHeader: .string("test/1")]
                )
                try amqp.publish(exchange: Topology.deadLetterExchange, routingKey: "", body: Array(#"{"itemId":"1"}"#.utf8), properties: properties)
            }
            try amqp.waitForConfirms(timeout: .seconds(10))
        }

        static func deadLetterQueue() throws -> DeadLetterQueue {
            try DeadLetterQueue(amqpURL: LabEnvironment.servers.amqpURL, logger: LabEnvironment.logger)
        }

        @Test func everyPoisonMessageIsDeadLetteredWithItsReasonAndACorrectStampedeFollows() async throws {
            let report = try await withWorker(consumers: 2) {
                let runner = try StampedeRunner(
                    postgresURL: LabEnvironment.servers.postgresURL,
                    amqpURL: LabEnvironment.servers.amqpURL,
                    logger: LabEnvironment.logger
                )
                try runner.waitForConsumers(atLeast: 2, timeoutSeconds: 30)
                try runner.purgeLeftovers()
                let poison = try PoisonRun(
                    postgresURL: LabEnvironment.servers.postgresURL,
                    amqpURL: LabEnvironment.servers.amqpURL,
                    logger: LabEnvironment.logger
                )
                let report = try poison.run(timeoutSeconds: 20)
                try poison.deadLetters.remove(messageIds: Set(report.messages.map(\.messageId)))
                return report
            }
            let expected = Dictionary(uniqueKeysWithValues: PoisonCorpus.messages(runId: report.runId).map { ($0.name, $0) })
            #expect(report.published == expected.count)
            for entry in report.messages {
                let message = try #require(expected[entry.name])
                #expect(entry.deadLettered, "\(entry.name) was not dead-lettered")
                #expect(
                    message.isExplained(by: entry.reason ?? ""),
                    "\(entry.name): reason '\(entry.reason ?? "none")', expected \(message.expectedReason)"
                )
            }
            #expect(report.deadLettered == report.published)
            #expect(report.ordersWritten == 0)
            let orders = try await onThread {
                let db = try PostgresConnection(url: LabEnvironment.servers.postgresURL)
                return try db.query("SELECT count(*) FROM orders WHERE run_id = $1", [report.runId.uuidString]).int(0, 0)
            }
            #expect(orders == 0)

            let reports = try await stampede([.pessimistic], StampedeConfiguration(buyers: 50, stock: 5, workers: 1, consumersPerWorker: 2))
            let stampede = try #require(reports.first)
            #expect(stampede.sold == 5)
            #expect(stampede.outcomes.purchased == 5)
            #expect(stampede.outcomes.soldOut == 45)
            #expect(stampede.outcomes.deadLettered == 0)
            #expect(stampede.violations == [])
        }

        @Test func browsingLeavesEveryDeadLetterInTheQueue() async throws {
            try await onThread {
                let ids = (1...5).map { "browse-\(UUID().uuidString.prefix(8))-\($0)" }
                try Self.publishDeadLetters(ids)
                let queue = try Self.deadLetterQueue()
                let before = try queue.count()
                #expect(before >= ids.count)

                let first = try queue.browse(limit: 65_535)
                let mine = first.filter { $0.messageId.map(ids.contains) ?? false }
                #expect(mine.map(\.messageId) == ids)
                #expect(mine.allSatisfy { $0.reason == "field itemId: expected an integer, got a string" && $0.worker == "test/1" })
                #expect(try queue.count() == before)
                let second = try queue.browse(limit: 65_535)
                #expect(second.compactMap(\.messageId).filter(ids.contains) == ids)
                #expect(try queue.count() == before)

                // A partial browse neither removes messages nor moves the ones it read to the back.
                #expect(try queue.browse(limit: 2) == Array(second.prefix(2)))
                #expect(try queue.count() == before)
                #expect(try queue.browse(limit: 65_535) == second)

                #expect(try queue.remove(messageIds: Set(ids.prefix(2))) == 2)
                #expect(try queue.count() == before - 2)
                let rest = try queue.browse(limit: 65_535).compactMap(\.messageId).filter(ids.contains)
                #expect(rest == Array(ids.dropFirst(2)))
                try queue.remove(messageIds: Set(ids))
            }
        }

        @Test func theBrokersOwnDeadLettersAreListedWithItsReason() async throws {
            try await onThread {
                let amqp = try AMQPConnection(endpoint: try AMQPEndpoint(url: LabEnvironment.servers.amqpURL))
                defer { amqp.close() }
                let queue = "racelab.test.rejects.\(UUID().uuidString.prefix(8))"
                try amqp.declareQueue(
                    queue,
                    durable: false,
                    autoDelete: false,
                    arguments: ["x-dead-letter-exchange": .string(Topology.deadLetterExchange)]
                )
                defer { try? amqp.deleteQueue(queue) }
                let id = "rejected-\(UUID().uuidString.prefix(8))"
                try Topology.declare(on: amqp)
                try amqp.publish(routingKey: queue, body: Array("{}".utf8), properties: AMQPMessageProperties(messageId: id))
                try amqp.consume(queue: queue)
                let delivery = try #require(try amqp.nextDelivery(timeout: .seconds(5)))
                try amqp.reject(delivery.deliveryTag, requeue: false)

                let letters = try Self.deadLetterQueue()
                var found: DeadLetter?
                for _ in 0..<20 where found == nil {
                    found = try letters.browse(limit: 65_535).first { $0.messageId == id }
                    if found == nil { Thread.sleep(forTimeInterval: 0.1) }
                }
                #expect(found?.reason == "rejected")
                #expect(found?.worker == nil)
                try letters.remove(messageIds: [id])
            }
        }

        @Test func dlqListsAsJSONAndPurgeEmptiesTheQueue() async throws {
            let ids = (1...3).map { "cli-\(UUID().uuidString.prefix(8))-\($0)" }
            try await onThread { try Self.publishDeadLetters(ids, reason: "not valid JSON") }

            // The whole queue: other suites' dead letters may come before these three.
            let listed = try await CommandLineTests.racelab(["dlq", "--format", "json", "--limit", "65535"])
            #expect(listed.status == 0, "\(listed.stderr)")
            let array = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
            let mine = array.filter { ($0["messageId"] as? String).map(ids.contains) ?? false }
            #expect(mine.count == 3)
            #expect(mine.allSatisfy { $0["reason"] as? String == "not valid JSON" && $0["body"] as? String == #"{"itemId":"1"}"# })
            #expect(mine.allSatisfy { $0["worker"] as? String == "test/1" })

            let table = try await CommandLineTests.racelab(["dlq", "--limit", "65535"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains(ids[0]))
            #expect(table.stdout.contains("not valid JSON"))

            let purged = try await CommandLineTests.racelab(["dlq", "--purge"])
            #expect(purged.status == 0, "\(purged.stderr)")
            let removed = try #require(purged.stdout.split(separator: " ").dropFirst().first.flatMap { Int($0) })
            #expect(removed >= 3)
            #expect(try await onThread { try Self.deadLetterQueue().count() } == 0)
            let empty = try await CommandLineTests.racelab(["dlq", "--format", "json"])
            #expect(empty.status == 0, "\(empty.stderr)")
            #expect((try JSONSerialization.jsonObject(with: Data(empty.stdout.utf8)) as? [Any])?.isEmpty == true)
        }

        @Test func poisonCommandReportsEveryMessageDeadLetteredAsJSON() async throws {
            let result = try await CommandLineTests.racelab(["poison", "--workers", "1", "--consumers", "2", "--format", "json", "--purge-after"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let published = try #require(object["published"] as? Int)
            #expect(published >= 12)
            #expect(object["deadLettered"] as? Int == published)
            #expect(object["ordersWritten"] as? Int == 0)
            #expect(object["workersAlive"] as? Bool == true)
            let messages = try #require(object["messages"] as? [[String: Any]])
            #expect(messages.count == published)
            let expected = Dictionary(uniqueKeysWithValues: PoisonCorpus.messages(runId: UUID()).map { ($0.name, $0) })
            var ids: Set<String> = []
            for message in messages {
                let name = try #require(message["name"] as? String)
                let reason = message["reason"] as? String ?? ""
                #expect(message["deadLettered"] as? Bool == true, "\(name)")
                #expect(expected[name]?.isExplained(by: reason) == true, "\(name): \(reason)")
                if let id = message["messageId"] as? String { ids.insert(id) }
            }
            #expect(ids.count == published)
            // --purge-after took this run's poison back off the dead-letter queue.
            let left = try await onThread { try Self.deadLetterQueue().browse(limit: 65_535).compactMap(\.messageId) }
            #expect(Set(left).isDisjoint(with: ids))
        }
    }
}
