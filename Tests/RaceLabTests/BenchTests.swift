import Foundation
import Testing

@testable import RaceLab

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

    @Test func theScriptsRunTheStrategysTransaction() {
        let run = UUID()
        let plain = Pgbench.text(.pessimistic, item: 3, quantity: 2, runId: run)
        #expect(plain.contains("SELECT stock FROM items WHERE id = 3 FOR UPDATE \\gset"))
        #expect(plain.contains("\\if :stock >= 2"))
        #expect(plain.contains("UPDATE items SET stock = stock - 2, version = version + 1 WHERE id = 3;"))
        #expect(plain.contains("'\(run.uuidString)'"))
        #expect(plain.hasPrefix("\\set buyer") && plain.contains("BEGIN;") && plain.contains("COMMIT;"))
        let pipelined = Pgbench.text(.pessimisticPipelined, item: 3, quantity: 2, runId: run)
        #expect(pipelined.contains("\\startpipeline") && pipelined.contains("\\endpipeline"))
        #expect(!pipelined.contains("\\gset"))  // a pipeline cannot branch on a result
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
