import Foundation
import Postgres
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabPipeline

extension LiveLab {
    /// `--trace` against the real servers: what the workers observe is the race, and the story told
    /// from it agrees with the orders in the database.
    @Suite struct TraceTests {
        /// One traced stampede at `strategy`, with in-process workers; the trace and the orders' buyers.
        static func traced(_ strategy: StrategyName, buyers: Int = 100) async throws -> (TraceFile, Set<Int64>) {
            let configuration = StampedeConfiguration(buyers: buyers, stock: 1, workers: 1, consumersPerWorker: 8, thinkMs: 5)
            return try await withWorker(consumers: 8) {
                let runner = try StampedeRunner(
                    postgresURL: LabEnvironment.servers.postgresURL,
                    amqpURL: LabEnvironment.servers.amqpURL,
                    logger: LabEnvironment.logger
                )
                try runner.waitForConsumers(atLeast: 8, timeoutSeconds: 30)
                let trace = RunTrace()
                let plan = StampedePlan(buyers: buyers, items: 1, seed: 7)
                let report = try runner.run(strategy: strategy, configuration: configuration, plan: plan, trace: trace)
                let db = try PostgresConnection(url: LabEnvironment.servers.postgresURL)
                let ordered = try db.query("SELECT buyer_id FROM orders WHERE run_id = $1", [report.runId.uuidString]).rows.compactMap {
                    $0[0].flatMap { Int64($0) }
                }
                // What was written reads back the same.
                let file = try TraceFile(parsing: try trace.file(for: report).lines().joined(separator: "\n"))
                return (file, Set(ordered))
            }
        }

        @Test func aNaiveOversellShowsTwoReadsOfOneStockThenTwoWritesOfOneValue() async throws {
            let (trace, ordered) = try await Self.traced(.naive)
            #expect(trace.run.oversold > 0)
            // Every request's attempt is there, with its session and buyer.
            #expect(Set(trace.attempts.map(\.requestId)).count == 100)
            #expect(trace.attempts.allSatisfy { $0.trace.session > 0 && !$0.trace.steps.isEmpty })
            // In the raw steps: two buyers who bought read the same stock, each before the other's write, and wrote the same value.
            let bought = trace.attempts.filter { $0.trace.ending == .purchased }
            #expect(Set(bought.map(\.buyerId)) == ordered)
            let pair = bought.indices.flatMap { i in bought.indices.filter { $0 > i }.map { (bought[i], bought[$0]) } }.first { a, b in
                guard let readA = a.trace.steps.first(where: { $0.kind == .read }), let readB = b.trace.steps.first(where: { $0.kind == .read }),
                    let writeA = a.trace.steps.first(where: { $0.kind == .write }), let writeB = b.trace.steps.first(where: { $0.kind == .write })
                else { return false }
                return readA.value == readB.value && writeA.value == writeB.value && writeA.value != nil
                    && readA.end < writeB.at && readB.end < writeA.at
            }
            let (a, b) = try #require(pair, "no two buyers read the same stock and wrote the same value")
            let stock = try #require(a.trace.steps.first { $0.kind == .read }?.value.flatMap { Int($0) })
            #expect(a.trace.steps.first { $0.kind == .write }?.value == String(stock - 1))
            #expect(b.trace.steps.contains { $0.kind == .think })

            // The story names two buyers who both bought after reading the same stock.
            let story = RaceStory(trace)
            let collision = try #require(story.firstCollision)
            #expect(collision.buyerIds.count == 2)
            #expect(Set(collision.buyerIds).isSubset(of: ordered))
            #expect(collision.moments.filter { $0.kind == "read" }.allSatisfy { $0.value == collision.stockRead })
            for buyer in collision.buyerIds { #expect(collision.text.contains("buyer \(buyer) ")) }
            #expect(story.lostUpdates == trace.run.oversold, "stock 1: every sale beyond the first is a lost update")
            #expect(story.text.contains(collision.text))
        }

        @Test func everyPessimisticLockWaitEndsAfterThePreviousHolderEnded() async throws {
            let (trace, ordered) = try await Self.traced(.pessimistic)
            #expect(trace.run.oversold == 0)
            #expect(ordered.count == 1)
            let grants = TraceAnalysis(trace).grants()[1] ?? []
            #expect(grants.count == 100)
            var waited = 0
            for (previous, next) in zip(grants, grants.dropFirst()) {
                // Granted only once the holder before it sent its COMMIT or ROLLBACK.
                #expect(
                    next.granted >= previous.released,
                    "buyer \(next.attempt.buyerId) got the lock before buyer \(previous.attempt.buyerId) let it go"
                )
                if next.requested < previous.released { waited += 1 }
            }
            #expect(waited > 10, "with 8 sessions and 5 ms of think time, buyers queue")
            let story = RaceStory(trace)
            #expect(story.firstCollision == nil)
            let queue = try #require(story.lockQueue)
            #expect(queue.overlaps == 0)
            #expect(queue.handOffs == waited)
            #expect(queue.longest > 1)
            #expect(story.text.contains("waited longest"))
        }

        @Test func optimisticConflictsAreToldInsteadOfLostUpdates() async throws {
            let (trace, ordered) = try await Self.traced(.optimistic)
            #expect(ordered.count == 1)
            let story = RaceStory(trace)
            #expect(story.firstCollision == nil)
            let conflicts = trace.attempts.filter { $0.trace.ending == .conflict }.count
            #expect(conflicts > 0)
            #expect(story.conflicts.conflicts == conflicts)
            #expect(story.conflicts.retries == trace.attempts.filter { $0.trace.attempt > 1 }.count)
            #expect(story.text.contains("\(conflicts) attempts lost a race"))
        }
    }
}
