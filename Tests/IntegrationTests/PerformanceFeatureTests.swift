import AMQP
import Foundation
import LabTestSupport
import Postgres
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

extension LiveLab {
    /// The `batched` strategy: many buyers per transaction, never more than the stock.
    @Suite struct BatchedStrategyTests {
        static func prepared(stock: Int) throws -> PostgresConnection {
            try IdempotencyTests.prepared(stock: stock)
        }

        static func requests(_ count: Int) -> [PurchaseRequest] {
            let run = UUID()
            return (1...count).map { PurchaseRequest(runId: run, itemId: 1, buyerId: Int64($0), quantity: 1, strategy: .batched) }
        }

        @Test func aBatchIsGrantedInArrivalOrderWhileTheStockLasts() async throws {
            try await onThread {
                let db = try Self.prepared(stock: 5)
                var batch = Self.requests(6).map { (request: $0, redelivered: false) }
                batch[2].request.quantity = 2
                let attempts = try BatchedStrategy().attempt(batch: batch, on: db)
                #expect(attempts == [.purchased, .purchased, .purchased, .purchased, .soldOut, .soldOut])
                #expect(try db.query("SELECT stock FROM items WHERE id = 1").int(0, 0) == 0)
                #expect(try db.query("SELECT count(*) FROM orders WHERE strategy = 'batched'").int(0, 0) == 4)
                #expect(try db.query("SELECT sum(quantity) FROM orders").int(0, 0) == 5)
            }
        }

        @Test func aRedeliveredRequestThatBoughtIsNotSoldTwice() async throws {
            try await onThread {
                let db = try Self.prepared(stock: 3)
                let requests = Self.requests(3)
                // The first request bought before its worker died; it comes back with two new ones.
                #expect(try PurchaseExecutor().settle(requests[0], on: db).outcome == .purchased)
                let attempts = try BatchedStrategy().attempt(
                    batch: [(requests[0], true), (requests[1], false), (requests[2], false)],
                    on: db
                )
                #expect(attempts == [.purchased, .purchased, .purchased])
                #expect(try db.query("SELECT stock FROM items WHERE id = 1").int(0, 0) == 0)
                #expect(try db.query("SELECT count(*) FROM orders").int(0, 0) == 3)
            }
        }

        @Test func aBatchThatFailsBuysNothing() async throws {
            try await onThread {
                let db = try Self.prepared(stock: 10)
                let requests = Self.requests(2)
                #expect {
                    try BatchedStrategy().attempt(batch: [(requests[0], false), (requests[1], false), (requests[0], false)], on: db)
                } throws: { error in
                    (error as? PostgresError)?.sqlState == "23505"
                }
                #expect(try db.query("SELECT stock FROM items WHERE id = 1").int(0, 0) == 10)
                #expect(try db.query("SELECT count(*) FROM orders").int(0, 0) == 0)
                #expect(try BatchedStrategy().attempt(batch: [(requests[0], false)], on: Self.prepared(stock: 0)) == [.soldOut])
            }
        }

        @Test func aMissingItemIsReportedForTheWholeBatch() async throws {
            try await onThread {
                let db = try Self.prepared(stock: 1)
                let stranger = PurchaseRequest(runId: UUID(), itemId: 99, buyerId: 1, strategy: .batched)
                #expect(try BatchedStrategy().attempt(batch: [(stranger, false), (stranger, false)], on: db) == [.noSuchItem, .noSuchItem])
            }
        }

        @Test func aStampedeOnSeveralItemsSellsEveryUnitExactly() async throws {
            let configuration = StampedeConfiguration(buyers: 900, stock: 37, items: 3, workers: 1, consumersPerWorker: 4)
            let report = try #require(try await stampede([.batched], configuration).first)
            #expect(report.perItem.map(\.sold) == [37, 37, 37])
            #expect(report.outcomes.purchased == 111)
            #expect(report.outcomes.soldOut == 789)
            #expect(report.outcomes.indeterminate == 0)
            #expect(report.violations == [])
        }
    }

    /// `racelab run --rate` (open loop) and `racelab bench` through the command line.
    @Suite struct OpenLoopAndBenchTests {
        @Test func anOpenLoopRunSendsAtTheOfferedRate() async throws {
            let result = try await CommandLineTests.racelab([
                "run", "--strategy", "pessimistic", "--buyers", "300", "--stock", "1000", "--workers", "1", "--rate", "400", "--format", "json",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONDecoder().decode(RunReport.self, from: Data(result.stdout.utf8))
            #expect(report.ratePerSec == 400)
            #expect(report.outcomes.purchased == 300)
            #expect(report.violations == [])
            // The 300th request is due 299/400 s after the first: sending cannot be faster than the rate.
            #expect(report.publishSec >= 0.74)
            #expect(report.durationSec >= 0.74)
        }

        @Test func benchPrintsThePipelineBesidePgbench() async throws {
            let result = try await CommandLineTests.racelab(["bench", "--buyers", "400", "--rounds", "1", "--consumers", "2", "--format", "json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONDecoder().decode(BenchReport.self, from: Data(result.stdout.utf8))
            let round = try #require(report.rounds.first)
            #expect(report.sessions == 2)
            #expect(round.pgbench.clients == 2)
            #expect(round.pgbench.transactions == 400)
            #expect(round.pgbench.transactionsPerSec > 0)
            #expect(round.pgbench.script == "pessimistic")
            #expect((round.pgbenchPipelined?.transactionsPerSec ?? 0) > 0)
            #expect(round.pipelinePerSec > 0)
            #expect(abs(round.ratio - round.pipelinePerSec / round.pgbench.purchasesPerSec) < 1e-9)
            #expect(round.violations == [] && round.oversold == 0)
            #expect(report.harnessPeakMiB > 1)
        }

        @Test func benchRunsPgbenchOnEachStrategysOwnSQL() async throws {
            for strategy in ["atomic", "skip-locked", "serialized", "batched"] {
                let result = try await CommandLineTests.racelab([
                    "bench", "--strategy", strategy, "--buyers", "300", "--rounds", "1", "--consumers", "2", "--format", "json",
                ])
                #expect(result.status == 0, "\(strategy): \(result.stderr)")
                let report = try JSONDecoder().decode(BenchReport.self, from: Data(result.stdout.utf8))
                let round = try #require(report.rounds.first)
                #expect(report.strategy.rawValue == strategy)
                #expect(round.pgbench.script == strategy)
                #expect(round.pgbenchPipelined == nil, "\(strategy): the ceiling is pessimistic's")
                #expect(round.violations == [] && round.oversold == 0 && round.undersold == 0, "\(strategy)")
                // serialized serves the item from one session, and pgbench runs with one client to match.
                #expect(report.sessions == (strategy == "serialized" ? 1 : 2), "\(strategy)")
                #expect(round.pgbench.clients == report.sessions, "\(strategy)")
                #expect(round.pgbench.purchasesPerTransaction == (strategy == "batched" ? 16 : 1), "\(strategy)")
                #expect(round.pgbench.purchasesPerSec > 0)
            }
        }
    }
}

@Suite struct PerformanceOptionTests {
    @Test(arguments: [
        (["run", "--strategy", "pessimistic", "--buyers", "5", "--stock", "1", "--rate", "0"], "--rate must be"),
        (["run", "--strategy", "pessimistic", "--buyers", "5", "--stock", "1", "--rate", "10", "--via", "http"], "--rate needs --via queue"),
        (["bench", "--strategy", "fastest"], "unknown strategy 'fastest'"),
        (["bench", "--strategy", "skip-locked", "--buyers", "2000000"], "--buyers must be at most 1000000 to bench skip-locked"),
        (["bench", "--rounds", "0"], "--rounds must be in 1...100"),
        (["worker", "--batch-size", "0"], "--batch-size must be in 1...1024"),
    ])
    func badPerformanceOptionsAreOneLineErrors(arguments: [String], message: String) async throws {
        let result = try await CommandLineTests.racelab(arguments)
        CommandLineTests().expectOneLineError(result, mentioning: message)
    }
}

extension LiveLab {
    /// Acks go out in batches (`basic.ack multiple`): never over a request still held for its gate.
    @Suite struct AckBatchingTests {
        @Test func settlingOtherRequestsNeverAcksOneHeldForItsGate() async throws {
            let endpoint = try AMQPEndpoint(url: LabEnvironment.amqpURL ?? "")
            let runA = UUID()
            let runB = UUID()
            try await onThread {
                let amqp = try AMQPConnection(endpoint: endpoint, connectionName: "ack batching test")
                try Topology.declare(on: amqp)
                _ = try amqp.purgeQueue(Topology.purchases)
                _ = try IdempotencyTests.prepared(stock: 100)
            }
            try await withWorker(consumers: 1) {
                let codec = MessageCodec()
                let amqp = try AMQPConnection(endpoint: endpoint, connectionName: "ack batching test")
                let outcomes = try amqp.declareQueue("", durable: false, exclusive: true, autoDelete: true).name
                try amqp.bindQueue(outcomes, exchange: Topology.outcomes, routingKey: Topology.outcomeKey(runId: runB.uuidString))
                try amqp.consume(queue: outcomes, noAck: true)
                func publish(_ run: UUID, gated: Bool) throws {
                    for buyer in 1...5 {
                        let request = PurchaseRequest(runId: run, itemId: 1, buyerId: Int64(buyer), strategy: .pessimistic, gated: gated)
                        try amqp.publish(routingKey: Topology.purchases, body: try codec.encode(request), properties: .init(persistent: true))
                    }
                }
                // Run A's requests reach the consumer and wait there for a gate that never opens…
                try publish(runA, gated: true)
                let deadline = Date().addingTimeInterval(10)
                while try amqp.inspectQueue(Topology.purchases).messageCount > 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                // …while run B's, behind them, are settled and acked.
                try publish(runB, gated: false)
                var settled = 0
                while settled < 5, Date() < deadline.addingTimeInterval(10), let delivery = try amqp.nextDelivery(timeout: .seconds(1)) {
                    settled += try codec.decodeOutcomes(from: delivery.body).count
                }
                #expect(settled == 5)
                Thread.sleep(forTimeInterval: 0.3)  // let the consumer flush its acks
            }
            // The worker has stopped: its held requests went back to the queue, none was acked.
            try await onThread {
                let amqp = try AMQPConnection(endpoint: endpoint, connectionName: "ack batching test")
                var waiting = try amqp.inspectQueue(Topology.purchases).messageCount
                let deadline = Date().addingTimeInterval(10)
                while waiting < 5 && Date() < deadline {
                    Thread.sleep(forTimeInterval: 0.05)
                    waiting = try amqp.inspectQueue(Topology.purchases).messageCount
                }
                #expect(waiting == 5)
                _ = try amqp.purgeQueue(Topology.purchases)
                let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
                #expect(try db.query("SELECT count(*) FROM orders WHERE run_id = $1", [runA.uuidString]).int(0, 0) == 0)
                #expect(try db.query("SELECT count(*) FROM orders WHERE run_id = $1", [runB.uuidString]).int(0, 0) == 5)
            }
        }
    }
}
