import Foundation
import Hummingbird
import HummingbirdTesting
import LabTestSupport
import Postgres
import RaceLabCore
import RaceLabPipeline
import RaceLabServer
import Testing

extension LiveServerLab {
    /// The API offers the catalogue: built-ins and strategies registered from files, each published to
    /// the queue it needs.
    @Suite struct StrategyRoutesTests {
        /// Polls `location` until its purchase is no longer pending (30 s at most).
        static func outcome(_ client: any TestClientProtocol, _ location: String) async throws -> String? {
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let status = try await client.send(.get, location).json["status"] as? String
                if status != "pending" { return status }
                try await Task.sleep(for: .milliseconds(50))
            }
            return "pending"
        }

        @Test func aStrategyRegisteredAfterTheServerStartedIsListedAndServed() async throws {
            let name = "api-mine-\(UUID().uuidString.prefix(6).lowercased())"
            let strategy = try UserStrategy.parse(
                """
                name: \(name)
                description: a conditional update registered while the server runs
                steps:
                  - sql: UPDATE items SET stock = stock - :quantity WHERE id = :item AND stock >= :quantity RETURNING stock
                    none: soldOut
                  - sql: INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) VALUES (:request, :run, :item, :buyer, :quantity, :strategy)
                """,
                file: "\(name).yaml"
            )
            let (listed, statuses, item) = try await withLiveAPI { client in
                try await onThread {
                    let db = try PostgresConnection(url: ServerLab.postgresURL ?? "")
                    try Schema.ensure(on: db)
                    try StrategyRegistry.register(strategy, file: "\(name).yaml", on: db)
                }
                let list = try await client.send(.get, "/strategies").json["strategies"] as? [[String: Any]] ?? []
                _ = try await client.send(.post, "/items/9101/reset", body: #"{"stock": 1}"#)
                var statuses: [String?] = []
                for buyer in 1...3 {
                    let response = try await client.send(
                        .post,
                        "/purchases",
                        body: #"{"itemId": 9101, "buyerId": \#(buyer), "strategy": "\#(name)"}"#
                    )
                    #expect(response.status == .accepted)
                    statuses.append(try await Self.outcome(client, try #require(response.headers[.location])))
                }
                let item = try await client.send(.get, "/items/9101").json.mapValues { "\($0)" }
                return (list.compactMap { $0["name"] as? String }, statuses, item)
            }
            #expect(Array(listed.prefix(StrategyName.builtIn.count)) == StrategyName.builtIn.map(\.rawValue))
            #expect(listed.contains(name))
            #expect(statuses == ["purchased", "soldOut", "soldOut"])
            #expect(item["stock"] == "0" && item["sold"] == "1")
        }

        @Test func theSerializedAndSkipLockedStrategiesWorkThroughTheAPI() async throws {
            let results = try await withLiveAPI { client in
                var results: [String: ([String?], [String: String])] = [:]
                for strategy in ["serialized", "skip-locked"] {
                    let fired = try await client.send(
                        .post,
                        "/stampedes",
                        body: #"{"strategy": "\#(strategy)", "buyers": 20, "stock": 3, "itemId": 9102, "isolation": "read-committed"}"#
                    )
                    #expect(fired.status == .accepted, "\(strategy)")
                    let ids = try #require(try fired.json["requestIds"] as? [String])
                    var statuses: [String?] = []
                    for id in ids { statuses.append(try await Self.outcome(client, "/purchases/\(id)")) }
                    results[strategy] = (statuses, try await client.send(.get, "/items/9102").json.mapValues { "\($0)" })
                }
                return results
            }
            for (strategy, (statuses, item)) in results {
                #expect(statuses.filter { $0 == "purchased" }.count == 3, "\(strategy)")
                #expect(statuses.filter { $0 == "soldOut" }.count == 17, "\(strategy)")
                #expect(item["stock"] == "0" && item["sold"] == "3", "\(strategy): \(item)")
            }
        }

        @Test func anUnknownStrategyOrIsolationLevelIsA422ListingTheKnownOnes() async throws {
            let (strategy, isolation) = try await withLiveAPI { client in
                let strategy = try await client.send(.post, "/purchases", body: #"{"itemId": 1, "buyerId": 1, "strategy": "fastest"}"#).json
                let isolation = try await client.send(.post, "/purchases", body: #"{"itemId": 1, "buyerId": 1, "isolation": "snapshot"}"#).json
                return (strategy.mapValues { "\($0)" }, isolation.mapValues { "\($0)" })
            }
            #expect(strategy["status"] == "422" && strategy["field"] == "strategy")
            #expect(strategy["detail"]?.contains("skip-locked") == true)
            #expect(isolation["status"] == "422" && isolation["field"] == "isolation")
            #expect(isolation["detail"]?.contains("repeatable-read") == true)
        }
    }
}
