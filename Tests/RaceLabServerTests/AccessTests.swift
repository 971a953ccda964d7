import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import RaceLabServer

extension LiveServerLab {
    /// Who may drive the API, against a real HTTP server and the real pipeline: no JSON, no entry (415); another
    /// origin, no entry (403); a token, when set, on every POST (401); the harness's own fields and long think
    /// times only with it (403); one demo stampede at a time (409).
    ///
    /// Items 9200… are this suite's own. Each refusal is checked by its effect too: the item a refused reset
    /// named keeps its stock.
    @Suite struct AccessTests {
        static let token = "test-token-\(UUID().uuidString)"

        @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
        func aBodyThatIsNotJSONIs415AndChangesNothing(contentType: String) async throws {
            let (status, problem, item) = try await withLiveAPI(consumers: 0, setup: .live) { client in
                _ = try await client.send(.post, "/items/9200/reset", body: #"{"stock": 4}"#)
                let response = try await client.send(.post, "/items/9200/reset", body: #"{"stock": 9}"#, headers: [.contentType: contentType])
                let item = try await client.send(.get, "/items/9200").json
                return (response.status.code, try response.json.mapValues { "\($0)" }, item.mapValues { "\($0)" })
            }
            #expect(status == 415)
            #expect(problem["field"] == "Content-Type")
            #expect(item["stock"] == "4")
        }

        @Test(arguments: [
            ("/purchases", #"{"itemId": 9201, "buyerId": 1}"#),
            ("/items/9201/reset", #"{"stock": 9}"#),
            ("/stampedes", #"{"strategy": "pessimistic", "buyers": 5, "stock": 9, "itemId": 9201}"#),
        ])
        func aPostFromAnotherOriginIs403AndChangesNothing(path: String, body: String) async throws {
            let (statuses, item) = try await withLiveAPI(consumers: 0, setup: .live) { client in
                _ = try await client.send(.post, "/items/9201/reset", body: #"{"stock": 2}"#)
                var statuses: [UInt] = []
                for headers: HTTPFields in [[.origin: "http://evil.example"], [.init("Sec-Fetch-Site")!: "cross-site"], [.origin: "null"]] {
                    statuses.append(UInt(try await client.send(.post, path, body: body, headers: headers).status.code))
                }
                let item = try await client.send(.get, "/items/9201").json
                return (statuses, item.mapValues { "\($0)" })
            }
            #expect(statuses == [403, 403, 403])
            #expect(item["stock"] == "2")
            #expect(item["orders"] == "0")
        }

        @Test func aPostFromTheServersOwnOriginIsServed() async throws {
            let (status, item) = try await withLiveAPI(consumers: 0, setup: .live) { client in
                let origin = "http://localhost"  // the test client's Host is `localhost`, with no port
                let response = try await client.send(.post, "/items/9202/reset", body: #"{"stock": 6}"#, headers: [.origin: origin])
                return (response.status.code, try response.json.mapValues { "\($0)" })
            }
            #expect(status == 200)
            #expect(item["stock"] == "6")
        }

        @Test func withATokenAPostNeedsItAsABearerToken() async throws {
            let (missing, wrong, authenticate, given, read) = try await withLiveAPI(
                consumers: 0,
                setup: .live,
                configuration: ServerLab.configuration(token: Self.token)
            ) { client in
                let body = #"{"itemId": 9203, "buyerId": 1}"#
                let missing = try await client.send(.post, "/purchases", body: body)
                let wrong = try await client.send(.post, "/purchases", body: body, headers: [.authorization: "Bearer not-the-token"])
                let given = try await client.send(.post, "/purchases", body: body, headers: [.authorization: "Bearer \(Self.token)"])
                let read = try await client.send(.get, "/items")
                return (missing.status.code, wrong.status.code, missing.headers[.wwwAuthenticate], given.status.code, read.status.code)
            }
            #expect(missing == 401)
            #expect(wrong == 401)
            #expect(authenticate?.hasPrefix("Bearer") == true)
            #expect(given == 202)
            #expect(read == 200)  // reads stay open
        }

        @Test(arguments: [
            (#""gated": false"#, "gated"),
            (#""runId": "6f1c3a9e-0000-4000-8000-000000000001""#, "runId"),
            (#""thinkMs": 5000"#, "thinkMs"),
        ])
        func harnessFieldsAndLongThinkTimesNeedTheToken(field: String, name: String) async throws {
            let body = #"{"itemId": 9204, "buyerId": 1, \#(field)}"#
            let refused = try await withLiveAPI(consumers: 0) { client in
                try await client.send(.post, "/purchases", body: body).json.mapValues { "\($0)" }
            }
            #expect(refused["status"] == "403")
            #expect(refused["field"] == name)
            let accepted = try await withLiveAPI(consumers: 0, configuration: ServerLab.configuration(token: Self.token)) { client in
                try await client.send(.post, "/purchases", body: body, headers: [.authorization: "Bearer \(Self.token)"]).status.code
            }
            #expect(accepted == 202)
        }

        @Test func aSecondDemoStampedeWhileOneRunsIs409AndLeavesTheFirstAlone() async throws {
            // No worker here, so the first stampede's purchases stay queued and it is still running when the
            // second comes (no other suite's worker shares this lab's queue).
            let (first, second, problem, item) = try await withLiveAPI(consumers: 0) { client in
                let first = try await client.send(
                    .post,
                    "/stampedes",
                    body: #"{"strategy": "pessimistic", "buyers": 3, "stock": 1, "itemId": 9205, "thinkMs": 1000}"#
                )
                let second = try await client.send(.post, "/stampedes", body: #"{"strategy": "naive", "buyers": 3, "stock": 7, "itemId": 9205}"#)
                let item = try await client.send(.get, "/items/9205").json
                return (first.status.code, second.status.code, try second.json.mapValues { "\($0)" }, item.mapValues { "\($0)" })
            }
            #expect(first == 202)
            #expect(second == 409)
            #expect(problem["detail"]?.contains("of its purchases have no outcome yet") == true, "\(problem)")
            #expect(item["initialStock"] == "1")  // the second stampede did not reset the item
        }

        @Test func aStampedeMayFollowOneThatSettled() async throws {
            let statuses = try await withLiveAPI { client in
                var statuses: [UInt] = []
                for _ in 0..<2 {
                    let fired = try await client.send(
                        .post,
                        "/stampedes",
                        body: #"{"strategy": "pessimistic", "buyers": 3, "stock": 1, "itemId": 9206}"#
                    )
                    statuses.append(UInt(fired.status.code))
                    for id in try fired.json["requestIds"] as? [String] ?? [] { _ = try await client.settledStatus(of: id) }
                }
                return statuses
            }
            #expect(statuses == [202, 202])
        }
    }
}

/// Access rules that need no servers.
@Suite struct AccessPolicyTests {
    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("localhost", true), ("::1", true), ("[::1]", true),
        ("0.0.0.0", false), ("::", false), ("192.168.1.5", false), ("example.com", false), ("127.0.0.1.example.com", false),
    ])
    func loopbackHostsAreTold(host: String, loopback: Bool) {
        #expect(AccessPolicy.isLoopback(host) == loopback)
    }

    @Test func aServerBeyondLoopbackDoesNotStartWithoutAToken() throws {
        let open = APIServerConfiguration(postgresURL: "", amqpURL: "amqp://127.0.0.1:1", host: "0.0.0.0")
        #expect(open.problem?.contains("--token") == true)
        #expect(throws: APIServerConfigurationError.self) { try APIServer(configuration: open, logger: ServerLab.logger) }
        var guarded = open
        guarded.token = "s3cret"
        #expect(guarded.problem == nil)
        guarded.token = "has a space"
        #expect(guarded.problem != nil)
    }
}
