import Foundation
import Postgres
import Testing

@testable import RaceLab

extension LiveLab {
    /// A request delivered twice — its worker died after COMMIT, before the ack — buys once.
    @Suite struct IdempotencyTests {
        static func prepared(stock: Int, for strategy: StrategyName = .pessimistic) throws -> PostgresConnection {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            try Schema.ensure(on: db)
            try Schema.reset(items: 1, stock: stock, keeping: StrategyCatalog.builtIn(strategy)?.traits.stock ?? .itemRow, on: db)
            return db
        }

        /// The stock left, where `strategy` keeps it.
        static func stock(for strategy: StrategyName, on db: PostgresConnection) throws -> Int? {
            try RunObservation.read(runId: UUID(), items: 1, keeping: StrategyCatalog.builtIn(strategy)?.traits.stock ?? .itemRow, on: db)
                .items.first?.finalStock
        }

        @Test(arguments: StrategyName.builtIn)
        func aRedeliveredRequestThatBoughtBuysNothingMore(strategy: StrategyName) async throws {
            try await onThread {
                let db = try Self.prepared(stock: 1, for: strategy)
                let executor = PurchaseExecutor()
                let request = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: strategy)
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                // The redelivery finds the stock gone, but the order proves the purchase.
                #expect(try executor.settle(request, redelivered: true, on: db).outcome == .purchased)
                #expect(try db.query("SELECT count(*) FROM orders WHERE request_id = $1", [request.requestId.uuidString]).int(0, 0) == 1)
                #expect(try Self.stock(for: strategy, on: db) == 0)
            }
        }

        @Test(arguments: [StrategyName.pessimistic, .optimistic, .advisory, .batched, .atomic, .nowait, .skipLocked, .serialized])
        func aDuplicateThatStillSeesStockIsStoppedByTheUniqueRequestId(strategy: StrategyName) async throws {
            try await onThread {
                let db = try Self.prepared(stock: 5, for: strategy)
                let executor = PurchaseExecutor()
                let request = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: strategy)
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                // Not flagged as redelivered (a copy published twice): the INSERT's unique violation (23505)
                // rolls the second purchase back, and it counts as the purchase it already was.
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                #expect(try db.query("SELECT count(*) FROM orders WHERE request_id = $1", [request.requestId.uuidString]).int(0, 0) == 1)
                #expect(try Self.stock(for: strategy, on: db) == 4)
            }
        }

        @Test(arguments: StrategyName.builtIn)
        func anItemThatDoesNotExistIsDeadLetteredAndTouchesNothing(strategy: StrategyName) async throws {
            try await onThread {
                let db = try Self.prepared(stock: 3, for: strategy)
                let request = PurchaseRequest(runId: UUID(), itemId: 999_999_999_999_999, buyerId: 1, strategy: strategy)
                let settlement = try PurchaseExecutor().settle(request, on: db)
                #expect(settlement.outcome == .deadLettered)
                #expect(settlement.error == "item 999999999999999 does not exist")
                #expect(try db.query("SELECT count(*) FROM orders").int(0, 0) == 0)
                #expect(try Self.stock(for: strategy, on: db) == 3)
            }
        }
    }
}
