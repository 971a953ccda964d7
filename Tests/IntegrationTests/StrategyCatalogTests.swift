import Foundation
import LabTestSupport
import Postgres
import Synchronization
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

extension LiveLab {
    /// The catalogue against the real servers: isolation levels, strategies written as files, what
    /// unit rows can leave unsold, and how a shard queue's new owner fences the old one off.
    @Suite struct StrategyCatalogTests {
        static var repository: URL {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        }

        static func shipped(_ name: String) throws -> UserStrategy {
            try UserStrategy.load(contentsOf: repository.appendingPathComponent("strategies/\(name).yaml"), file: "strategies/\(name).yaml")
        }

        static func database() throws -> PostgresConnection {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            try Schema.ensure(on: db)
            return db
        }

        @Test func naiveOversellsUnderReadCommittedAndSellsExactlyUnderStricterLevels() async throws {
            var reports: [IsolationLevel: RunReport] = [:]
            for level in IsolationLevel.allCases {
                let configuration = StampedeConfiguration(buyers: 200, stock: 1, workers: 2, consumersPerWorker: 4, thinkMs: 5, isolation: level)
                let report = try #require(try await stampede([.naive], configuration).first)
                reports[level] = report
            }
            let readCommitted = try #require(reports[.readCommitted])
            #expect(readCommitted.isolation == .readCommitted)
            #expect(readCommitted.oversold > 0)
            #expect(readCommitted.aborts == 0)
            for level in [IsolationLevel.repeatableRead, .serializable] {
                let report = try #require(reports[level])
                #expect(report.isolation == level)
                #expect(report.sold == 1, "\(level)")
                #expect(report.violations == [], "\(level)")
                // The server caught the lost updates: every buyer who read the last unit but lost was aborted and retried.
                #expect(report.aborts > 0, "\(level)")
                #expect(report.retries >= report.aborts, "\(level)")
                #expect(report.outcomes.purchased + report.outcomes.soldOut + report.outcomes.gaveUp == 200, "\(level)")
            }
        }

        @Test func strategyFilesRegisteredAfterTheWorkersStartedAreServedAsWritten() async throws {
            let good = try Self.shipped("conditional-update")
            let broken = try Self.shipped("naive-sql")
            let configuration = StampedeConfiguration(buyers: 300, stock: 20, items: 2, workers: 2, consumersPerWorker: 4, thinkMs: 5)
            let catalog = StrategyCatalog(userStrategies: [good, broken])
            // The worker is up before the files are registered: it finds them in the registry by version.
            let reports = try await withWorker(consumers: 8) {
                let runner = try StampedeRunner(
                    postgresURL: LabEnvironment.servers.postgresURL,
                    amqpURL: LabEnvironment.servers.amqpURL,
                    logger: LabEnvironment.logger
                )
                try runner.waitForConsumers(atLeast: 8, timeoutSeconds: 30)
                try runner.register(good, file: "conditional-update.yaml")
                try runner.register(broken, file: "naive-sql.yaml")
                let plan = StampedePlan(buyers: 300, items: 2, seed: 42)
                return try [good.name, broken.name].map { try runner.run(strategy: $0, catalog: catalog, configuration: configuration, plan: plan) }
            }
            let exact = reports[0]
            #expect(exact.strategy == good.name)
            #expect(exact.perItem.map(\.sold) == [20, 20])
            #expect(exact.outcomes.purchased == 40 && exact.outcomes.soldOut == 260)
            #expect(exact.violations == [])
            let oversold = reports[1]
            #expect(oversold.oversold > 0)
            #expect(oversold.violations.contains { $0.contains("oversold") })
            #expect(oversold.violations.contains { $0.contains("lost update") })
            #expect(oversold.outcomes.indeterminate == 0 && oversold.outcomes.failed == 0)
        }

        @Test(arguments: [
            ("steps:\n  - sql: SELECT stok FROM items WHERE id = :item\n", "step 1: PostgreSQL refuses it: column \"stok\" does not exist"),
            ("steps:\n  - sql: SELECT 1\n  - sql: UPDATE items SET stock = :stock WHERE id = :item\n", "step 2: unknown parameter :stock"),
            (
                "steps:\n  - sql: SELECT stock FROM items WHERE id = :item\n  - sql: UPDATE items SET stock = :stock - :quantity WHERE id = :item\n",
                "step 2: PostgreSQL refuses it: operator is not unique: unknown - unknown"
            ),
            ("steps:\n  - sql: SELECT 1 AS item\n", "step 1: returns a column named 'item'"),
            ("steps:\n  - sql: SELECT 1; SELECT 2\n", "step 1: PostgreSQL refuses it: cannot insert multiple commands"),
        ])
        func aFileThePostgreSQLRefusesIsNamedWithItsStepBeforeAnythingRuns(steps: String, expected: String) async throws {
            try await onThread {
                let db = try Self.database()
                let strategy = try UserStrategy.parse("name: refused\n" + steps, file: "refused.yaml")
                #expect {
                    try StrategyRegistry.register(strategy, file: "refused.yaml", on: db)
                } throws: { error in
                    let message = (error as? SpecError)?.message ?? "\(error)"
                    return message.hasPrefix("refused.yaml: ") && message.contains(expected) && !message.contains("\n")
                }
                #expect(try StrategyRegistry.load(version: strategy.version, on: db) == nil)
            }
        }

        @Test func aRegisteredVersionLoadsBackAndTheLatestWinsByName() async throws {
            try await onThread {
                let db = try Self.database()
                let name = "versioned-\(UUID().uuidString.prefix(8).lowercased())"
                let first = try UserStrategy.parse("name: \(name)\nsteps:\n  - sql: SELECT 1\n", file: "a")
                let second = try UserStrategy.parse("name: \(name)\nsteps:\n  - sql: SELECT 2\n", file: "b")
                try StrategyRegistry.register(first, file: "a", on: db)
                try StrategyRegistry.register(second, file: "b", on: db)
                #expect(try StrategyRegistry.load(version: first.version, on: db) == first)
                #expect(try StrategyRegistry.latest(named: first.name, on: db) == second)
                // Registering the first again makes it the latest.
                try StrategyRegistry.register(first, file: "a", on: db)
                #expect(try StrategyRegistry.latest(named: first.name, on: db) == first)
                #expect(try StrategyRegistry.all(on: db).contains(first))
            }
        }

        @Test func skipLockedTurnsABuyerAwayWhileALockedUnitIsThenReleased() async throws {
            try await onThread {
                let db = try Self.database()
                try Schema.reset(items: 1, stock: 2, keeping: .unitRows, on: db)
                let run = UUID()
                let executor = PurchaseExecutor()
                let strategy = SkipLockedStrategy()
                // Another buyer holds unit 1 in a transaction that will roll back.
                let holder = try Self.database()
                try holder.execute("BEGIN")
                #expect(try holder.query("SELECT unit_no FROM item_units WHERE item_id = 1 AND unit_no = 1 FOR UPDATE").rows.count == 1)
                let buyers = (1...3).map { PurchaseRequest(runId: run, itemId: 1, buyerId: Int64($0), strategy: .skipLocked) }
                let outcomes = try buyers.map { try executor.settle($0, with: strategy, on: db).outcome }
                // The first takes the one free unlocked unit; the others find only the locked one: sold out.
                #expect(outcomes == [.purchased, .soldOut, .soldOut])
                try holder.execute("ROLLBACK")
                var observation = try RunObservation.read(runId: run, items: 1, keeping: .unitRows, on: db)
                observation.items[0].turnedAway = 2
                #expect(observation.items[0].finalStock == 1)
                #expect(observation.items[0].sold == 1)
                let report = RunReport(
                    strategy: .skipLocked,
                    runId: run,
                    configuration: StampedeConfiguration(buyers: 3, stock: 2),
                    observation: observation,
                    outcomes: OutcomeCounts(),
                    retries: 0,
                    latencyMs: LatencySummary(microseconds: LatencySummary.makeHistogram()),
                    durationSec: 1,
                    violations: []
                )
                #expect(report.undersold == 1)
                #expect(report.finalStock == 1)
            }
        }

        @Test func buyersWhoGiveUpWhileStockIsLeftShowAsUndersold() async throws {
            // nowait with a budget of one attempt: a buyer who finds the lock held gives up at once.
            let configuration = StampedeConfiguration(buyers: 400, stock: 1000, workers: 2, consumersPerWorker: 4, thinkMs: 2)
            let report = try #require(
                try await stampede([.nowait], configuration, retryPolicy: .init(maxAttempts: 1)).first
            )
            #expect(report.outcomes.gaveUp > 0, "nobody gave up: the test proved nothing")
            #expect(report.finalStock > 0)
            #expect(report.undersold == min(report.finalStock, report.outcomes.gaveUp))
            #expect(report.violations == [])
            #expect(report.sold == report.outcomes.purchased)
        }

        @Test func aNewShardOwnerEndsTheSessionThatStillHeldTheShard() async throws {
            // A "zombie": a session that holds item 1's shard (as a consumer killed mid-transaction would)
            // with a transaction open, on a thread of its own. The next consumer to serve the shard must end
            // it before it buys.
            let name = "racelab-zombie-\(UUID().uuidString.prefix(8))"
            let ready = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let ended = Mutex<Bool?>(nil)
            let thread = Thread {
                do {
                    let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "", applicationName: name)
                    try db.query("SELECT pg_advisory_lock(7262112, $1::integer)", [String(1 % Topology.shardCount)])
                    try db.execute("BEGIN")
                    try db.execute("SELECT 1")
                    ready.signal()
                    release.wait()
                    do {
                        try db.execute("SELECT 1")
                        ended.withLock { $0 = false }
                    } catch {
                        ended.withLock { $0 = true }
                    }
                } catch {
                    ready.signal()
                }
            }
            thread.start()
            ready.wait()
            let configuration = StampedeConfiguration(buyers: 50, stock: 10, workers: 1, consumersPerWorker: 2)
            let report = try #require(try await stampede([.serialized], configuration).first)
            release.signal()
            #expect(report.sold == 10)
            #expect(report.violations == [])
            let sessions = try await onThread {
                try Self.database().query(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
                    [name]
                ).int(0, 0)
            }
            #expect(sessions == 0, "the zombie session survived the new owner")
            for _ in 0..<100 where ended.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(50)) }
            #expect(ended.withLock { $0 } == true, "the zombie's connection still works")
        }

        @Test func aSessionHoldingTheSameShardInAnotherDatabaseIsLeftAlone() async throws {
            // Another lab on the same server (its own database) holds every shard's fence lock with a
            // transaction open. Advisory locks are per database: this lab's consumers take their own
            // shards' locks and must not end the neighbour's session.
            let neighbour = IsolatedLab("neighbour")
            try await neighbour.provision()
            let url = neighbour.postgresURL
            let ready = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let alive = Mutex<Bool?>(nil)
            let thread = Thread {
                do {
                    let db = try PostgresConnection(url: url, applicationName: "racelab-neighbour")
                    for shard in 0..<Topology.shardCount {
                        try db.query("SELECT pg_advisory_lock(7262112, $1::integer)", [String(shard)])
                    }
                    try db.execute("BEGIN")
                    ready.signal()
                    release.wait()
                    do {
                        try db.execute("SELECT 1")
                        alive.withLock { $0 = true }
                    } catch {
                        alive.withLock { $0 = false }
                    }
                } catch {
                    ready.signal()
                }
            }
            thread.start()
            try await onThread { ready.wait() }
            let configuration = StampedeConfiguration(buyers: 50, stock: 10, workers: 1, consumersPerWorker: 2)
            let report = try #require(try await stampede([.serialized], configuration).first)
            release.signal()
            #expect(report.sold == 10)
            #expect(report.violations == [])
            for _ in 0..<100 where alive.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(50)) }
            #expect(alive.withLock { $0 } == true, "the fence ended a session of another database")
        }
    }
}
