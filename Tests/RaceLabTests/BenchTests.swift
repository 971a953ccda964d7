import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// The pure parts of `racelab bench` and the open loop: parsing pgbench and /proc, ratios, tallies.
struct BenchTests {
    @Test func pgbenchOutputGivesTpsAndLatency() {
        let output = """
            pgbench (15.18 (Debian 15.18-0+deb12u1))
            transaction type: /tmp/racelab-pgbench/pessimistic.sql
            number of clients: 4
            latency average = 1.843 ms
            initial connection time = 5.120 ms
            tps = 2170.387112 (without initial connection time)
            """
        #expect(Pgbench.parse(output, key: "tps = ") == 2170.387112)
        #expect(Pgbench.parse(output, key: "latency average = ") == 1.843)
        #expect(Pgbench.parse("no numbers here", key: "tps = ") == nil)
    }

    @Test func pgbenchRunsEachStrategysOwnStatementsInItsRoundTrips() throws {
        let run = UUID()
        let context = PgbenchContext(item: 3, quantity: 2, runId: run, batchSize: 8)
        // pessimistic: BEGIN and the locking read in one round trip, the writes and COMMIT in another.
        let pessimistic = try #require(PessimisticLockStrategy().pgbenchScript(context)).text
        #expect(pessimistic.components(separatedBy: "\\startpipeline").count == 3)
        #expect(pessimistic.contains("SELECT stock FROM items WHERE id = 3 FOR UPDATE;"))
        #expect(pessimistic.contains("UPDATE items SET stock = stock - 2, version = version + 1 WHERE id = 3;"))
        #expect(pessimistic.contains("'\(run.uuidString)'") && pessimistic.contains("COMMIT;"))
        // atomic: its one statement, as the strategy prepares it.
        let atomic = try #require(AtomicUpdateStrategy().pgbenchScript(context)).text
        #expect(atomic.contains("WHERE id = 3 AND stock >= 2 RETURNING id"))
        #expect(!atomic.contains("\\startpipeline") && !atomic.contains("BEGIN"))
        // naive: the read's value goes into the write, so the read is a round trip of its own.
        let naive = try #require(NaiveStrategy().pgbenchScript(context)).text
        #expect(naive.contains("SELECT stock FROM items WHERE id = 3 \\gset"))
        #expect(naive.contains("UPDATE items SET stock = :stock - 2 WHERE id = 3;"))
        // serialized runs the naive SQL from one session; batched buys a batch per transaction.
        #expect(try #require(SerializedStrategy().pgbenchScript(context)).clients == .one)
        let batched = try #require(BatchedStrategy().pgbenchScript(context))
        #expect(batched.purchasesPerTransaction == 8 && batched.text.contains("generate_series(1, 8)"))
        // nowait cannot run under pgbench (it ends a client at 55P03) and says so.
        #expect(try #require(NoWaitStrategy().pgbenchScript(context)).note?.contains("55P03") == true)
        // The ceiling: every statement in one round trip, no branch.
        let ceiling = Pgbench.ceiling(context).text
        #expect(ceiling.components(separatedBy: "\\startpipeline").count == 2 && !ceiling.contains("\\gset"))
        // Every built-in has a script pgbench can run.
        for strategy in StrategyCatalog.builtIns { #expect(strategy.pgbenchScript(context) != nil, "\(strategy.name)") }
    }

    @Test func machineAndProcessCPUComeFromProc() throws {
        let ticks = CPUSample.ticksPerSecond
        let stat = "cpu  100 20 30 4000 50 6 7 8 0 0\ncpu0 50 10 15 2000 25 3 3 4 0 0\n"
        #expect(try #require(CPUSample.machineBusySeconds(stat: stat)) == (100 + 20 + 30 + 6 + 7 + 8) / ticks)
        // A command name with spaces and parentheses must not shift the fields.
        let process = "4242 (racelab (w) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 5 0 1000 0 0"
        #expect(try #require(CPUSample.processSeconds(4242, stat: process)) == 300 / ticks)
        #expect(CPUSample.processSeconds(1, stat: "garbage") == nil)
    }

    @Test func theOwnShareCountsWorkersThatStartedDuringTheRun() throws {
        let start = CPUSample(machineBusySeconds: 10, selfSeconds: 1, processSeconds: [7: 2])
        let end = CPUSample(machineBusySeconds: 30, selfSeconds: 2, processSeconds: [7: 5, 8: 1])
        let share = CPUSample.ownShare(from: start, to: end)
        #expect(share.own == 1 + 3 + 1)
        #expect(share.machine == 20)
        #expect(try #require(share.share) == 0.25)
        #expect(CPUSample.ownShare(from: start, to: start).share == nil)
    }

    @Test func theMedianIsTheMiddleValue() {
        #expect(Statistics.median([]) == 0)
        #expect(Statistics.median([3]) == 3)
        #expect(Statistics.median([5, 1, 3]) == 3)
        #expect(Statistics.median([4, 1, 3, 2]) == 2.5)
    }

    @Test func anOpenLoopRateMustBePositiveAndSane() {
        var configuration = StampedeConfiguration(buyers: 10, stock: 1, ratePerSec: 500)
        #expect(configuration.problem == nil)
        for bad in [0, -1, 2_000_000, .nan, .infinity] {
            configuration.ratePerSec = bad
            #expect(configuration.problem?.hasPrefix("--rate must be") == true, "\(bad)")
        }
    }

    @Test func theTallyCountsFromTheGateOrFromEachIntendedSendTime() {
        var tally = OutcomeTally(total: 3, history: nil)
        let gated = UUID()
        let paced = UUID()
        tally.pending = [gated: 0, paced: 5_000_000_000]
        func outcome(_ id: UUID, finishedAt: UInt64) -> OutcomeMessage {
            OutcomeMessage(
                requestId: id,
                runId: UUID(),
                itemId: 1,
                strategy: .pessimistic,
                outcome: .purchased,
                retries: 1,
                worker: "w",
                finishedAt: finishedAt
            )
        }
        tally.record(outcome(gated, finishedAt: 1_002_000_000), gate: 1_000_000_000)  // 2 ms after the gate
        tally.record(outcome(paced, finishedAt: 5_010_000_000), gate: 1_000_000_000)  // 10 ms after it was due
        tally.record(outcome(paced, finishedAt: 9_000_000_000), gate: 1_000_000_000)  // a duplicate: ignored
        tally.record(outcome(UUID(), finishedAt: 1), gate: 0)  // a stranger: ignored
        #expect(tally.counts.purchased == 2)
        #expect(tally.retries == 2)
        #expect(tally.pending.isEmpty)
        #expect(tally.histogram.totalCount == 2)
        #expect(tally.histogram.min >= 1_900 && tally.histogram.min <= 2_100)  // microseconds
        #expect(tally.histogram.max >= 9_900 && tally.histogram.max <= 10_100)
        #expect(tally.lastFinish == 5_010_000_000)
    }
}

@Suite struct PgbenchCommandLineTests {
    @Test func thePasswordGoesInTheEnvironmentNotOnTheCommandLine() {
        let (url, environment) = Pgbench.withoutPassword("postgresql://racelab:s3cr%40t@127.0.0.1:5432/racelab")
        #expect(url == "postgresql://racelab@127.0.0.1:5432/racelab")
        #expect(environment["PGPASSWORD"] == "s3cr@t")
        let (same, _) = Pgbench.withoutPassword("postgresql://racelab@127.0.0.1:5432/racelab")
        #expect(same == "postgresql://racelab@127.0.0.1:5432/racelab")
    }
}
