import AMQP
import Foundation
import Hummingbird
import HummingbirdTesting
import LabTestSupport
import RaceLabCore
import RaceLabPipeline
import Testing

@testable import RaceLabServer

extension LiveServerLab {
    /// The API against the real pipeline: RabbitMQ, an in-process worker, PostgreSQL (items 9001…).
    @Suite struct APIServerTests {
        @Test func hundredConcurrentBuyersOfTheLastItemBuyItExactlyOnce() async throws {
            let (counts, item) = try await withLiveAPI { client in
                let (counts, item) = try await Self.stampede(client, itemId: 9001, buyers: 100)
                return (counts, item.mapValues { "\($0)" })
            }
            #expect(counts == ["purchased": 1, "soldOut": 99])
            #expect(item["stock"] == "0")
            #expect(item["sold"] == "1")
        }

        /// Resets the item to stock 1, fires `buyers` concurrent pessimistic purchases, polls until none is
        /// pending, and returns the statuses counted plus the item afterwards.
        private static func stampede(_ client: any TestClientProtocol, itemId: Int, buyers: Int) async throws -> ([String: Int], [String: Any]) {
            let reset = try await client.send(.post, "/items/\(itemId)/reset", body: #"{"stock": 1}"#)
            try #require(reset.status == .ok)
            let locations = try await withThrowingTaskGroup(of: String.self) { group in
                for buyer in 1...buyers {
                    group.addTask {
                        let response = try await client.send(
                            .post,
                            "/purchases",
                            body: #"{"itemId": \#(itemId), "buyerId": \#(buyer), "strategy": "pessimistic"}"#
                        )
                        #expect(response.status == .accepted)
                        #expect(try response.json["status"] as? String == "pending")
                        return try #require(response.headers[.location])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(locations.count == buyers)
            var statuses: [String: String] = [:]
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                for location in locations where statuses[location] == nil || statuses[location] == "pending" {
                    statuses[location] = try await client.send(.get, location).json["status"] as? String
                }
                if !statuses.values.contains("pending") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let counts = statuses.values.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            let item = try await client.send(.get, "/items/\(itemId)").json
            return (counts, item)
        }

        @Test(
            arguments: [
                ("garbage", 400, "body"),
                ("[1, 2]", 400, "body"),
                (#"{"itemId": "9002", "buyerId": 1}"#, 400, "itemId"),
                (#"{"buyerId": 1}"#, 400, "itemId"),
                (#"{"itemId": 9002, "buyerId": true}"#, 400, "buyerId"),
                (#"{"itemId": 9002, "buyerId": 1.5}"#, 400, "buyerId"),
                (#"{"itemId": 99999999999999999999999999, "buyerId": 1}"#, 400, "itemId"),
                (#"{"itemId": 1e300, "buyerId": 1}"#, 400, "itemId"),
                (#"{"itemId": 9002, "buyerId": 1, "quantity": 9223372036854775807}"#, 422, "quantity"),
                (#"{"itemId": 9002, "buyerId": 1, "quantity": 0}"#, 422, "quantity"),
                (#"{"itemId": -5, "buyerId": 1}"#, 422, "itemId"),
                (#"{"itemId": 9002, "buyerId": 1, "strategy": "yolo"}"#, 422, "strategy"),
                (#"{"itemId": 9002, "buyerId": 1, "strategy": 3}"#, 400, "strategy"),
                (#"{"itemId": 9002, "buyerId": 1, "requestId": 7}"#, 400, "requestId"),
                (#"{"itemId": 9002, "buyerId": 1, "runId": "not-a-uuid"}"#, 400, "runId"),
                (#"{"itemId": 9002, "buyerId": 1, "gated": "yes"}"#, 400, "gated"),
                (#"{"itemId": 9002, "buyerId": 1, "quantity": null}"#, 400, "quantity"),
                (#"{"itemId": 9002, "buyerId": 1, "isolation": null}"#, 400, "isolation"),
                (#"{"itemId": 9002, "buyerId": 1, "buyer": 2}"#, 422, "buyer"),
                (#"{"itemId": 9002, "buyerId": 1, "thinkMs": 60001}"#, 422, "thinkMs"),
            ]
        )
        func badPurchasesAreProblemsNamingTheField(body: String, status: Int, field: String) async throws {
            let problem = try await withLiveAPI { client in
                let response = try await client.send(.post, "/purchases", body: body)
                #expect(response.headers[.contentType] == "application/problem+json")
                return try response.json.mapValues { "\($0)" }
            }
            #expect(problem["status"] == "\(status)")
            #expect(problem["field"] == field)
            #expect(problem["detail"]?.contains(field) == true)
            #expect(problem["title"] != nil && problem["type"] != nil)
        }

        @Test(
            arguments: [
                (HTTPRequest.Method.get, "/no/such/route", nil, 404),
                (.get, "/purchases/not-a-uuid", nil, 400),
                (.get, "/purchases/6f1c3a9e-0000-4000-8000-000000000000", nil, 404),
                (.get, "/items/abc", nil, 400),
                (.get, "/items/0", nil, 422),
                (.get, "/items/987654321", nil, 404),
                (.post, "/items/9003/reset", #"{"stock": -1}"#, 422),
                (.post, "/items/9003/reset", #"{"stock": "ten"}"#, 400),
                (.post, "/items/9003/reset", "{", 400),
                (.post, "/items/9003/reset", #"{"stock": 1, "version": null}"#, 400),
                (.post, "/items/9003/reset", #"{"stock": 1, "extra": true}"#, 422),
                (.post, "/purchases", String(repeating: "x", count: 20_000), 413),
                (.put, "/purchases", nil, 405),
                (.trace, "/stats", nil, 405),
                (.delete, "/items/9003", nil, 405),
            ] as [(HTTPRequest.Method, String, String?, Int)]
        )
        func badPathsAndItemRequestsAreClientErrors(method: HTTPRequest.Method, uri: String, body: String?, status: Int) async throws {
            let (code, contentType) = try await withLiveAPI { client in
                let response = try await client.send(method, uri, body: body)
                return (Int(response.status.code), response.headers[.contentType])
            }
            #expect(code == status)
            #expect(contentType == "application/problem+json")
        }

        @Test func aHarnessWithTheTokenMayNameItsRequestAndRun() async throws {
            let requestId = UUID().uuidString.lowercased()
            let runId = UUID().uuidString.lowercased()
            let (status, body) = try await withLiveAPI(configuration: ServerLab.configuration(token: "harness")) { client in
                let body = #"{"itemId": 9005, "buyerId": 1, "requestId": "\#(requestId)", "runId": "\#(runId)", "gated": false}"#
                let response = try await client.send(.post, "/purchases", body: body, headers: [.authorization: "Bearer harness"])
                return (Int(response.status.code), try response.json.mapValues { "\($0)" })
            }
            #expect(status == 202)
            #expect(body["requestId"] == requestId)
            #expect(body["runId"] == runId)
            #expect(body["status"] == "forwarded")  // its outcome goes to that run
        }

        @Test func statsCountAHarnessRunsPurchasesApartFromTheServersOwn() async throws {
            let harnessRun = UUID().uuidString.lowercased()
            let body = try await withLiveAPI(configuration: ServerLab.configuration(token: "harness")) { client in
                _ = try await client.send(.post, "/items/9006/reset", body: #"{"stock": 5}"#, headers: [.authorization: "Bearer harness"])
                let own = try await client.send(
                    .post,
                    "/purchases",
                    body: #"{"itemId": 9006, "buyerId": 1}"#,
                    headers: [.authorization: "Bearer harness"]
                )
                let harness = try await client.send(
                    .post,
                    "/purchases",
                    body: #"{"itemId": 9006, "buyerId": 2, "runId": "\#(harnessRun)"}"#,
                    headers: [.authorization: "Bearer harness"]
                )
                try #require(own.status == .accepted && harness.status == .accepted)
                let stats = try await client.send(.get, "/stats").json
                return try JSONSerialization.data(withJSONObject: stats)
            }
            let stats = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
            #expect(stats["accepted"] as? Int == 1)
            let outcomes = try #require(stats["outcomes"] as? [String: Int])
            #expect((stats["pending"] as? Int ?? 0) + outcomes.values.reduce(0, +) == 1)  // the own one, settled or not
            let harness = try #require(stats["harness"] as? [String: Int])
            #expect(harness == ["runs": 1, "forwarded": 1, "publishing": 0, "unconfirmed": 0])
        }

        @Test func itemResetCreatesTheItemWithNoSales() async throws {
            let item = try await withLiveAPI { client in
                try await client.send(.post, "/items/9004/reset", body: #"{"stock": 5, "version": 3}"#).json.mapValues { "\($0)" }
            }
            #expect(item == ["id": "9004", "stock": "5", "initialStock": "5", "version": "3", "sold": "0", "orders": "0"])
        }

        @Test func metricsCountPurchasesInPrometheusFormat() async throws {
            let text = try await withLiveAPI { client in
                String(buffer: try await client.send(.get, "/metrics").body)
            }
            #expect(text.contains("# TYPE racelab_purchases_total counter"))
            #expect(text.contains(#"racelab_purchases_total{strategy="pessimistic",outcome="purchased"}"#))
            #expect(text.contains(#"racelab_purchase_latency_seconds_bucket{le="+Inf"}"#))
            #expect(text.contains("racelab_queue_depth "))
            #expect(text.contains("racelab_purchases_pending "))
            #expect(text.contains("racelab_purchases_unknown "))
        }
    }
}

/// Parts that need no servers: the API's documents and the broker failure path.
@Suite struct APIDocumentTests {
    private static func router() throws -> Router<BasicRequestContext> {
        try APIServer(
            configuration: APIServerConfiguration(postgresURL: "postgresql://nobody@127.0.0.1:1/none", amqpURL: "amqp://127.0.0.1:1"),
            logger: ServerLab.logger
        ).makeRouter()
    }

    @Test func openAPIDocumentIsJSONAndCoversEveryRoute() async throws {
        let document = try await Application(router: try Self.router()).test(.router) { client in
            try await client.send(.get, "/openapi.json").json
        }
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3.0."))
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let expected: [String: Set<String>] = [
            "/purchases": ["post"], "/purchases/{id}": ["get"], "/items": ["get"], "/items/{id}": ["get"],
            "/items/{id}/reset": ["post"], "/events": ["get"], "/metrics": ["get"], "/openapi.json": ["get"], "/docs": ["get"],
            "/": ["get"], "/stats": ["get"], "/stampedes": ["post"], "/stampedes/last/story": ["get"], "/strategies": ["get"],
        ]
        #expect(Set(paths.keys) == Set(expected.keys))
        for (path, methods) in expected { #expect(Set(paths[path]?.keys.map { $0 } ?? []) == methods, "\(path)") }
        let purchase = try #require(paths["/purchases"]?["post"] as? [String: Any])
        #expect((purchase["security"] as? [Any])?.isEmpty == true)  // no token: nothing to send
        let responses = Set((purchase["responses"] as? [String: Any] ?? [:]).keys)
        #expect(responses.isSuperset(of: ["401", "403", "409", "415", "422", "503"]))
    }

    @Test func withATokenTheDocumentNamesTheBearerSchemeOnEveryPost() async throws {
        let router = try APIServer(
            configuration: APIServerConfiguration(postgresURL: "postgresql://nobody@127.0.0.1:1/none", amqpURL: "amqp://127.0.0.1:1", token: "t"),
            logger: ServerLab.logger
        ).makeRouter()
        let paths = try await Application(router: router).test(.router) { client in
            try #require(try await client.send(.get, "/openapi.json").json["paths"] as? [String: [String: [String: Any]]])
        }
        for (path, operations) in paths {
            for (method, operation) in operations {
                let security = operation["security"] as? [[String: [String]]]
                #expect((security?.first?.keys.first == "bearerAuth") == (method == "post"), "\(method) \(path)")
            }
        }
    }

    @Test func anUndeclaredMethodOnAKnownPathIs405WithAllow() async throws {
        let (status, allow) = try await Application(router: try Self.router()).test(.router) { client in
            let response = try await client.send(.patch, "/items/7")
            return (response.status.code, response.headers[.allow])
        }
        #expect(status == 405)
        #expect(allow == "GET")
    }

    @Test func aServerErrorSaysNothingOfItsCause() async throws {
        struct Leak: Error, CustomStringConvertible { var description: String { "password=hunter2 at 10.0.0.7" } }
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.get("/boom") { _, _ -> String in throw Leak() }
        let (status, body) = try await Application(router: router).test(.router) { client in
            let response = try await client.send(.get, "/boom")
            return (response.status.code, String(buffer: response.body))
        }
        #expect(status == 500)
        #expect(!body.contains("hunter2") && !body.contains("10.0.0.7"))
        #expect(body.contains("log"))
    }

    @Test func docsPageIsSelfContainedHTML() async throws {
        let (type, html) = try await Application(router: try Self.router()).test(.router) { client in
            let response = try await client.send(.get, "/docs")
            return (response.headers[.contentType], String(buffer: response.body))
        }
        #expect(type?.hasPrefix("text/html") == true)
        #expect(html.contains("/openapi.json"))
        #expect(!html.contains("https://"))
    }

    @Test func docsPageListsEveryRouteOfTheDocumentWithoutJavaScript() async throws {
        let (html, document) = try await Application(router: try Self.router()).test(.router) { client in
            (String(buffer: try await client.send(.get, "/docs").body), try await client.send(.get, "/openapi.json").json)
        }
        #expect(!html.contains("<script"))
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        for (path, operations) in paths {
            for method in operations.keys {
                let heading = #"<span class="method \#(method)">\#(method.uppercased())</span> <code>\#(path)</code></h3>"#
                #expect(html.contains(heading), "\(method) \(path) is not on the page")
            }
        }
        #expect(html.contains("<code>buyerId</code>"))  // a body field of POST /purchases
        #expect(html.contains("skip-locked"))  // the strategies the server offers
    }

    @Test func docsPageEscapesTheDocumentsText() {
        let html = DocsPage.html(
            document: #"{"info": {"title": "<b>x</b>"}, "paths": {"/a": {"get": {"summary": "1 < 2 & \"q\"", "responses": {}}}}}"#
        )
        #expect(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x</b>"))
        #expect(html.contains("1 &lt; 2 &amp; &quot;q&quot;"))
    }

    @Test func brokerThatCannotBeReachedSendsNothing() async throws {
        let broker = BrokerGateway(endpoint: AMQPEndpoint(host: "127.0.0.1", port: 1), logger: ServerLab.logger)
        broker.start()
        do {
            try await broker.publish(Array("{}".utf8))
            Issue.record("a publish to nowhere succeeded")
        } catch let failure as BrokerGateway.PublishFailure {
            #expect(failure == .notSent("cannot reach RabbitMQ"))  // so the API forgets the purchase and says retry
        }
        broker.stop()
        try await onThread { broker.waitUntilFinished() }
    }
}
