import AMQP
import Foundation
import LabTestSupport
import Postgres
import RaceLabCore
import RaceLabPipeline
import Testing

@testable import RaceLabServer

extension LiveServerLab {
    /// The outcome listener against the real servers, fed an outcome published on `racelab.outcomes` as a
    /// worker would (item 9505; nothing is queued for a worker).
    @Suite(.timeLimit(.minutes(1))) struct OutcomeListenerTests {
        @Test func afterAPurchaseTheStockBroadcastIsTheAPIsEvenForAnItemThatKeepsUnitRows() async throws {
            // Three unit rows, one claimed: 2 left, while items.stock still says 3.
            let shown = try await onThread {
                let db = try PostgresConnection(url: ServerLab.postgresURL ?? "")
                try Schema.ensure(on: db)
                try Schema.resetItem(9505, stock: 3, keeping: .unitRows, on: db)
                try db.query("UPDATE item_units SET request_id = $1 WHERE item_id = 9505 AND unit_no = 1", [UUID().uuidString])
                return try Schema.items(id: 9505, on: db).first?.stock
            }
            let broadcast = try await Self.stockBroadcast(afterPurchasing: 9505)
            #expect(shown == 2)
            #expect(broadcast == shown)
        }

        /// Starts a listener, records a purchase of `itemId` as published, publishes its `purchased` outcome
        /// and returns the first stock event for the item (nil when none came within 10 s).
        private static func stockBroadcast(afterPurchasing itemId: Int64) async throws -> Int64? {
            let run = UUID()
            let ledger = PurchaseLedger(ownRun: run)
            let database = DatabaseGateway(url: ServerLab.postgresURL ?? "", threads: 1, logger: ServerLab.logger)
            let endpoint = try AMQPEndpoint(url: ServerLab.amqpURL ?? "")
            let listener = OutcomeListener(endpoint: endpoint, runId: run, ledger: ledger, database: database, logger: ServerLab.logger)
            database.start()
            let result: Result<Int64?, any Error>
            do {
                result = .success(try await publishAndWatch(itemId, run: run, ledger: ledger, endpoint: endpoint, listener: listener))
            } catch {
                result = .failure(error)
            }
            listener.stop()
            database.stop()
            ledger.close()
            try await onThread {
                listener.waitUntilFinished()
                database.waitUntilFinished()
            }
            return try result.get()
        }

        private static func publishAndWatch(
            _ itemId: Int64,
            run: UUID,
            ledger: PurchaseLedger,
            endpoint: AMQPEndpoint,
            listener: OutcomeListener
        ) async throws -> Int64? {
            try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in listener.start { ready.resume(with: $0) } }
            let events = try #require(ledger.subscribe())
            let request = PurchaseRequest(runId: run, itemId: itemId, buyerId: 1, strategy: .skipLocked)
            _ = ledger.claim(request)
            ledger.recordConfirmed(request.requestId)
            let outcome = OutcomeMessage(
                requestId: request.requestId,
                runId: run,
                itemId: itemId,
                strategy: .skipLocked,
                outcome: .purchased,
                retries: 0,
                worker: "listener-test",
                finishedAt: WallClock.nanoseconds()
            )
            try await onThread {
                let amqp = try AMQPConnection(endpoint: endpoint, connectTimeout: .seconds(3), connectionName: "racelab listener test")
                defer { amqp.close() }
                _ = try amqp.publish(
                    exchange: Topology.outcomes,
                    routingKey: Topology.outcomeKey(runId: run.uuidString),
                    body: try MessageCodec().encode(outcome)
                )
            }
            return await withTaskGroup(of: Int64?.self) { group in
                group.addTask {
                    for await event in events {
                        if case .stock(itemId, let stock) = event { return stock }
                    }
                    return nil
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(10))
                    return nil
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                ledger.close()  // ends the stream, so the reading task ends too
                return first
            }
        }
    }
}
