import AMQP
import Foundation
import Hummingbird
import HummingbirdTesting
import LabTestSupport
import Postgres
import RaceLabCore
import RaceLabPipeline
import Testing

@testable import RaceLabServer

extension LiveServerLab {
    /// The API while PostgreSQL or RabbitMQ is gone, against the real servers: each test puts a ``TCPProxy``
    /// between its own API server and one of the lab's servers and cuts it, so only that API server loses it —
    /// the servers keep serving every other suite.
    ///
    /// Items 9500… are this suite's own. Only the listener's test asserts an outcome: a worker on the lab's queue
    /// may be held up by what earlier suites of this target left there.
    @Suite struct DependencyOutageTests {
        /// What the test saw of one request.
        struct Answer: Sendable, CustomStringConvertible {
            var request: String
            var status: Int
            var contentType: String?
            var retryAfter: String?
            var detail: String?
            var description: String { "\(request) → \(status) \(contentType ?? "-") \(detail ?? "")" }
        }

        private static func answer(
            _ client: any TestClientProtocol,
            _ method: HTTPRequest.Method,
            _ uri: String,
            body: String? = nil
        ) async throws
            -> Answer
        {
            let response = try await client.send(method, uri, body: body)
            return Answer(
                request: "\(method) \(uri)",
                status: Int(response.status.code),
                contentType: response.headers[.contentType],
                retryAfter: response.headers[.retryAfter],
                detail: (try? response.json)?["detail"] as? String
            )
        }

        private static func port(of url: String) throws -> Int {
            try #require(URLComponents(string: url)?.port, "no port in the lab's URL")
        }

        @Test func whilePostgreSQLIsGoneEveryRequestThatNeedsItIs503UntilItIsBack() async throws {
            let proxy = try TCPProxy(upstreamPort: try Self.port(of: ServerLab.postgresURL ?? ""))
            defer { proxy.cut() }
            var configuration = ServerLab.configuration
            configuration.postgresURL = proxy.redirecting(configuration.postgresURL)
            configuration.databaseThreads = 1  // one connection: the first request after the cut finds it broken
            let (before, during, purchase, after) = try await withLiveAPI(consumers: 1, configuration: configuration) { client in
                let before = try await Self.answer(client, .post, "/items/9500/reset", body: #"{"stock": 3}"#)
                proxy.cut()
                var during: [Answer] = []
                for _ in 0..<2 {  // the broken connection first, then refused connections
                    during.append(try await Self.answer(client, .get, "/items/9500"))
                    during.append(try await Self.answer(client, .get, "/stats"))
                    during.append(try await Self.answer(client, .get, "/items"))
                    during.append(try await Self.answer(client, .get, "/strategies"))
                    during.append(try await Self.answer(client, .post, "/items/9500/reset", body: #"{"stock": 3}"#))
                    during.append(
                        try await Self.answer(
                            client,
                            .post,
                            "/stampedes",
                            body: #"{"strategy": "pessimistic", "buyers": 1, "stock": 1, "itemId": 9501}"#
                        )
                    )
                }
                // A purchase needs only RabbitMQ: it is taken and waits in the queue for a worker (this one's
                // PostgreSQL is not cut).
                let purchase = try await Self.answer(client, .post, "/purchases", body: #"{"itemId": 9500, "buyerId": 1}"#)
                try proxy.restore()
                let after = try await client.send(.get, "/items/9500")
                return (before.status, during, purchase.status, (Int(after.status.code), try after.json["id"] as? Int))
            }
            #expect(before == 200)
            for answer in during {
                #expect(answer.status == 503, "\(answer)")
                #expect(answer.contentType == "application/problem+json", "\(answer)")
                #expect(answer.detail == "PostgreSQL is unavailable", "\(answer)")
                #expect(answer.retryAfter == "1", "\(answer)")
            }
            #expect(purchase == 202)
            #expect(after.0 == 200 && after.1 == 9500)
        }

        @Test func whileRabbitMQIsGonePurchasesAre503ReadsStillAnswerAndPurchasesResumeOnceItIsBack() async throws {
            let proxy = try TCPProxy(upstreamPort: try Self.port(of: ServerLab.amqpURL ?? ""))
            defer { proxy.cut() }
            var configuration = ServerLab.configuration
            configuration.amqpURL = proxy.redirecting(configuration.amqpURL)
            // One consumer takes what the test publishes; the test does not wait for it (see the listener's own test).
            let (during, metrics, again) = try await withLiveAPI(consumers: 1, configuration: configuration) { client in
                _ = try await client.send(.post, "/items/9502/reset", body: #"{"stock": 5}"#)
                let first = try await client.send(.post, "/purchases", body: #"{"itemId": 9502, "buyerId": 1}"#)
                try #require(first.status == .accepted)
                proxy.cut()
                var during: [Answer] = []
                during.append(try await Self.answer(client, .post, "/purchases", body: #"{"itemId": 9502, "buyerId": 2}"#))
                during.append(
                    try await Self.answer(client, .post, "/stampedes", body: #"{"strategy": "pessimistic", "buyers": 2, "stock": 1, "itemId": 9503}"#)
                )
                during.append(try await Self.answer(client, .get, "/items/9502"))
                during.append(try await Self.answer(client, .get, "/stats"))
                let metrics = String(buffer: try await client.send(.get, "/metrics").body)
                try proxy.restore()
                let again = try await Self.answer(client, .post, "/purchases", body: #"{"itemId": 9502, "buyerId": 3}"#)
                return (during, metrics, again)
            }
            for answer in during.prefix(2) {
                #expect(answer.status == 503, "\(answer)")
                #expect(answer.contentType == "application/problem+json", "\(answer)")
                #expect(answer.detail?.contains("RabbitMQ") == true, "\(answer)")
            }
            for answer in during.dropFirst(2) { #expect(answer.status == 200, "\(answer)") }
            #expect(metrics.contains("racelab_broker_up 0"))
            #expect(again.status == 202, "\(again)")  // the publisher connected again
        }

        @Test func anOutcomePublishedWhileTheListenerIsCutOffArrivesOnceRabbitMQIsBack() async throws {
            let amqpURL = try #require(ServerLab.amqpURL)
            let proxy = try TCPProxy(upstreamPort: try Self.port(of: amqpURL))
            defer { proxy.cut() }
            let run = UUID()
            let ledger = PurchaseLedger(ownRun: run)
            let database = DatabaseGateway(url: ServerLab.postgresURL ?? "", threads: 1, logger: ServerLab.logger)
            let listener = OutcomeListener(
                endpoint: try AMQPEndpoint(url: proxy.redirecting(amqpURL)),
                runId: run,
                ledger: ledger,
                database: database,
                logger: ServerLab.logger
            )
            database.start()
            try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in listener.start { ready.resume(with: $0) } }
            // A purchase the server published (as far as the ledger knows; nothing is queued, so no worker can take it).
            let request = PurchaseRequest(runId: run, itemId: 9504, buyerId: 1, strategy: .pessimistic)
            _ = ledger.claim(request)
            ledger.recordConfirmed(request.requestId)
            proxy.cut()
            // Its worker's outcome, while the listener cannot hear it: straight to the lab's RabbitMQ.
            let outcome = OutcomeMessage(
                requestId: request.requestId,
                runId: run,
                itemId: 9504,
                strategy: .pessimistic,
                outcome: .purchased,
                retries: 0,
                worker: "outage-test",
                finishedAt: WallClock.nanoseconds()
            )
            try await onThread {
                let amqp = try AMQPConnection(
                    endpoint: try AMQPEndpoint(url: amqpURL),
                    connectTimeout: .seconds(3),
                    connectionName: "racelab outage test"
                )
                defer { amqp.close() }
                _ = try amqp.publish(
                    exchange: Topology.outcomes,
                    routingKey: Topology.outcomeKey(runId: run.uuidString),
                    body: try MessageCodec().encode(outcome)
                )
            }
            let whileCut = ledger.entry(request.requestId)?.status
            try proxy.restore()
            var status = ledger.entry(request.requestId)?.status
            let deadline = ContinuousClock.now + .seconds(30)
            while status == .pending, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                status = ledger.entry(request.requestId)?.status
            }
            listener.stop()
            database.stop()
            try await onThread {
                listener.waitUntilFinished()
                database.waitUntilFinished()
            }
            #expect(whileCut == .pending)
            #expect(status == .settled(outcome))  // kept in the listener's queue while it was away
        }
    }
}

/// How the database gateway answers a failed job, with no servers.
@Suite struct DatabaseGatewayTests {
    @Test(arguments: [PostgresError.Kind.connect, .connectionLost])
    func aConnectionFailureIs503(kind: PostgresError.Kind) throws {
        let answer = DatabaseGateway.requestError(for: PostgresError(kind: kind, message: "gone"), connectionBroken: false)
        let problem = try #require(answer as? ProblemDetails)
        #expect(problem.status == .serviceUnavailable)
        #expect(problem.detail == "PostgreSQL is unavailable")
        #expect(problem.headers[.retryAfter] == "1")
    }

    @Test func anyErrorOnAConnectionThatBrokeIs503() throws {
        let error = PostgresError(kind: .server, sqlState: "57P01", message: "terminating connection due to administrator command")
        let answer = DatabaseGateway.requestError(for: error, connectionBroken: true)
        #expect((answer as? ProblemDetails)?.status == .serviceUnavailable)
    }

    @Test func aStatementErrorOnAHealthyConnectionStaysTheServersFault() {
        let error = PostgresError(kind: .server, sqlState: "42601", message: "syntax error")
        let answer = DatabaseGateway.requestError(for: error, connectionBroken: false)
        #expect((answer as? PostgresError)?.sqlState == "42601")  // a 500 with nothing of its cause (ProblemMiddleware)
    }

    @Test func aProblemStaysAsItIs() {
        let problem = ProblemDetails.invalid("stock", "must be in 0...1000000000, got -1")
        #expect(DatabaseGateway.requestError(for: problem, connectionBroken: true) as? ProblemDetails == problem)
    }
}
