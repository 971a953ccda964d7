import Foundation
import Postgres
import Testing

@testable import RaceLab

extension LiveLab {
    /// A request delivered twice — its worker died after COMMIT, before the ack — buys once.
    @Suite struct IdempotencyTests {
        static func prepared(stock: Int) throws -> PostgresConnection {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            try Schema.ensure(on: db)
            try Schema.reset(items: 1, stock: stock, on: db)
            return db
        }

        @Test(arguments: StrategyName.allCases)
        func aRedeliveredRequestThatBoughtBuysNothingMore(strategy: StrategyName) async throws {
            try await onThread {
                let db = try Self.prepared(stock: 1)
                let executor = PurchaseExecutor()
                let request = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: strategy)
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                // The redelivery finds the stock gone, but the order proves the purchase.
                #expect(try executor.settle(request, redelivered: true, on: db).outcome == .purchased)
                #expect(try db.query("SELECT count(*) FROM orders WHERE request_id = $1", [request.requestId.uuidString]).int(0, 0) == 1)
                #expect(try db.query("SELECT stock FROM items WHERE id = 1").int(0, 0) == 0)
            }
        }

        @Test(arguments: [StrategyName.pessimistic, .optimistic, .advisory, .batched])
        func aDuplicateThatStillSeesStockIsStoppedByTheUniqueRequestId(strategy: StrategyName) async throws {
            try await onThread {
                let db = try Self.prepared(stock: 5)
                let executor = PurchaseExecutor()
                let request = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: strategy)
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                // Not flagged as redelivered (a copy published twice): the INSERT's unique violation (23505)
                // rolls the second purchase back, and it counts as the purchase it already was.
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                #expect(try db.query("SELECT count(*) FROM orders WHERE request_id = $1", [request.requestId.uuidString]).int(0, 0) == 1)
                #expect(try db.query("SELECT stock FROM items WHERE id = 1").int(0, 0) == 4)
            }
        }

        @Test(arguments: StrategyName.allCases)
        func anItemThatDoesNotExistIsDeadLetteredAndTouchesNothing(strategy: StrategyName) async throws {
            try await onThread {
                let db = try Self.prepared(stock: 3)
                let request = PurchaseRequest(runId: UUID(), itemId: 999_999_999_999_999, buyerId: 1, strategy: strategy)
                let settlement = try PurchaseExecutor().settle(request, on: db)
                #expect(settlement.outcome == .deadLettered)
                #expect(settlement.error == "item 999999999999999 does not exist")
                #expect(try db.query("SELECT count(*) FROM orders").int(0, 0) == 0)
                #expect(try db.query("SELECT stock FROM items WHERE id = 1").int(0, 0) == 3)
            }
        }
    }
}
