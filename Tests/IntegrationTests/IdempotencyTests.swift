import Foundation
import LabTestSupport
import Postgres
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

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

        @Test(arguments: StrategyName.builtIn)
        func aDuplicateCopyAfterTheLastUnitIsAnsweredWithItsPurchase(strategy: StrategyName) async throws {
            try await onThread {
                let db = try Self.prepared(stock: 1, for: strategy)
                let executor = PurchaseExecutor()
                let request = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: strategy)
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                // A second copy, not flagged redelivered (a client's retry, a duplicate publish): the stock
                // is gone, but the request owns the order, so it is answered as what it had.
                #expect(try executor.settle(request, on: db).outcome == .purchased)
                let other = PurchaseRequest(runId: request.runId, itemId: 1, buyerId: 2, strategy: strategy)
                #expect(try executor.settle(other, on: db).outcome == .soldOut)
                #expect(try db.query("SELECT count(*) FROM orders").int(0, 0) == 1)
                #expect(try Self.stock(for: strategy, on: db) == 0)
            }
        }

        @Test func aDuplicateInABatchAfterTheLastUnitIsAnsweredWithItsPurchase() async throws {
            try await onThread {
                let db = try Self.prepared(stock: 1, for: .batched)
                let executor = PurchaseExecutor()
                let strategy = BatchedStrategy()
                let first = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: .batched)
                let late = PurchaseRequest(runId: first.runId, itemId: 1, buyerId: 2, strategy: .batched)
                #expect(try executor.settle(first, on: db).outcome == .purchased)
                let settled = try executor.settle(
                    batch: [BatchEntry(request: late, redelivered: false), BatchEntry(request: first, redelivered: false)],
                    with: strategy,
                    on: db
                )
                #expect(settled.map(\.outcome) == [.soldOut, .purchased])
                #expect(try db.query("SELECT count(*) FROM orders").int(0, 0) == 1)
            }
        }

        /// The other copy has bought but not committed yet: the answer waits for it.
        @Test(arguments: [StrategyName.skipLocked, .atomic, .pessimistic])
        func aCopyTurnedAwayWhileAnotherCopyIsInFlightWaitsForItsFate(strategy: StrategyName) async throws {
            let request = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: strategy)
            let holder = try await onThread {
                let db = try Self.prepared(stock: 0, for: strategy)
                // The first copy's transaction, as far as its order insert: not committed yet.
                try db.execute("BEGIN")
                try db.query(
                    "INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) VALUES ($1, $2, 1, 1, 1, $3)",
                    [request.requestId.uuidString, request.runId.uuidString, strategy.rawValue]
                )
                return UncheckedBox(db)
            }
            async let second = onThread {
                let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
                return try PurchaseExecutor().settle(request, on: db).outcome
            }
            try await Task.sleep(for: .milliseconds(300))
            _ = try await onThread { try holder.value.execute("COMMIT") }
            #expect(try await second == .purchased)
        }
    }

    /// A request of a run that is over cannot buy the stock of the run that reset the items since.
    @Suite struct RunFenceTests {
        @Test(arguments: StrategyName.builtIn)
        func aRequestOfAnEarlierRunIsRefusedAndTouchesNothing(strategy: StrategyName) async throws {
            try await onThread {
                let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
                try Schema.ensure(on: db)
                let keeping = StrategyCatalog.builtIn(strategy)?.traits.stock ?? .itemRow
                let current = UUID()
                try Schema.reset(items: 1, stock: 3, keeping: keeping, run: current, on: db)
                let stale = PurchaseRequest(runId: UUID(), itemId: 1, buyerId: 1, strategy: strategy)
                let settlement = try PurchaseExecutor().settle(stale, on: db)
                #expect(settlement.outcome == .failed)
                #expect(settlement.error?.contains("was reset for run") == true)
                #expect(try db.query("SELECT count(*) FROM orders").int(0, 0) == 0)
                #expect(try IdempotencyTests.stock(for: strategy, on: db) == 3)
                // The run's own request buys; once the fence is released, any run's may.
                #expect(
                    try PurchaseExecutor().settle(PurchaseRequest(runId: current, itemId: 1, buyerId: 2, strategy: strategy), on: db).outcome
                        == .purchased
                )
                try Schema.releaseFence(run: current, on: db)
                #expect(try PurchaseExecutor().settle(stale, on: db).outcome == .purchased)
                #expect(try IdempotencyTests.stock(for: strategy, on: db) == 1)
            }
        }
    }
}

/// Hands a value a test keeps on one thread at a time across `onThread` calls.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
