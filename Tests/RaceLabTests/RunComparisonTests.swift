import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct RunComparisonTests {
    let cell = MatrixCell(strategy: .pessimistic, buyers: 100, stock: 1, items: 1, workers: 4, consumers: 4, thinkMs: 0)

    func entries(_ cell: MatrixCell, throughputs: [Double], p99: Double = 100) -> [MatrixRunEntry] {
        throughputs.enumerated().map { index, throughput in
            MatrixRunEntry(cell: cell, repetition: index + 1, report: SyntheticMatrix.report(cell: cell, throughput: throughput, p99: p99))
        }
    }

    func throughputRow(_ comparison: RunComparison) throws -> RunComparison.Row {
        try #require(comparison.rows.first { $0.metric == .throughputPerSec })
    }

    @Test func samplesFromTheSameDistributionAreWithinNoise() throws {
        let a = entries(cell, throughputs: [1000, 1030, 975, 1012, 990])
        let b = entries(cell, throughputs: [985, 1024, 1003, 970, 1029])
        let comparison = RunComparison(a: a, b: b)
        #expect(comparison.rows.count == RunComparison.Metric.allCases.count)
        #expect(comparison.flagged.isEmpty)
        #expect(try throughputRow(comparison).verdict == .withinNoise)
    }

    @Test func halvedThroughputIsBeyondNoise() throws {
        let comparison = RunComparison(a: entries(cell, throughputs: [1000, 1030, 975]), b: entries(cell, throughputs: [500, 515, 488]))
        let row = try throughputRow(comparison)
        #expect(row.beyondNoise)
        #expect(row.verdict == .beyondNoise)
        #expect(abs((row.relativeChange ?? 0) + 0.5) < 0.02)
        #expect((row.pValue ?? 1) < 0.01)
    }

    @Test func oneRepetitionIsNeverFlagged() throws {
        let comparison = RunComparison(a: entries(cell, throughputs: [1000]), b: entries(cell, throughputs: [100, 110, 105]))
        let row = try throughputRow(comparison)
        #expect(!row.beyondNoise)
        #expect(row.verdict == .cannotTell)
        #expect(row.reason == "one repetition: cannot tell noise")
        #expect(comparison.flagged.isEmpty)
    }

    @Test func aSignificantButSmallChangeStaysUnderTheFloor() throws {
        // 5% slower with almost no spread: p is tiny, but 5% is under the 10% floor.
        let comparison = RunComparison(a: entries(cell, throughputs: [1000, 1001, 999, 1000]), b: entries(cell, throughputs: [950, 951, 949, 950]))
        let row = try throughputRow(comparison)
        #expect((row.pValue ?? 1) < 0.01)
        #expect(!row.beyondNoise)
    }

    @Test func lockedStrategiesNeverOversellSoOversoldDoesNotChange() throws {
        let comparison = RunComparison(a: entries(cell, throughputs: [1000, 1010]), b: entries(cell, throughputs: [1005, 995]))
        let oversold = try #require(comparison.rows.first { $0.metric == .oversold })
        #expect(oversold.change == 0)
        #expect(oversold.verdict == .withinNoise)
        #expect(oversold.reason == "no change")
    }

    @Test func theSameMatrixTwiceFlagsNothing() {
        let first = SyntheticMatrix.contention(id: 1, repetitions: 3, seed: 1)
        let second = SyntheticMatrix.contention(id: 2, repetitions: 3, seed: 2)
        let comparison = RunComparison(a: first.entries, b: second.entries)
        #expect(comparison.rows.count == StrategyName.builtIn.count * 4 * RunComparison.Metric.allCases.count)
        #expect(comparison.unmatchedA.isEmpty && comparison.unmatchedB.isEmpty)
        #expect(comparison.flagged.isEmpty, "\(comparison.flagged.map { "\($0.label) \($0.metric)" })")
    }

    @Test func changedThinkTimeIsFlaggedWhenMatchedIgnoringIt() throws {
        let fast = SyntheticMatrix.contention(id: 1, thinkMs: 0, repetitions: 3, seed: 1)
        let slow = SyntheticMatrix.contention(id: 2, thinkMs: 10, repetitions: 3, seed: 2)
        let strict = RunComparison(a: fast.entries, b: slow.entries)
        #expect(strict.rows.isEmpty)
        #expect(strict.unmatchedA.count == StrategyName.builtIn.count * 4)
        let comparison = RunComparison(a: fast.entries, b: slow.entries, ignoring: .thinkMs)
        #expect(comparison.unmatchedA.isEmpty)
        let pessimistic = try #require(
            comparison.rows.first { $0.cellA.strategy == .pessimistic && $0.cellA.workers == 4 && $0.metric == .throughputPerSec }
        )
        #expect(pessimistic.cellB.thinkMs == 10)
        #expect(pessimistic.beyondNoise)
        #expect(pessimistic.label.hasSuffix("t=0 → t=10"))
        #expect(comparison.rows.filter { $0.metric == .throughputPerSec }.allSatisfy { $0.beyondNoise })
    }

    @Test func theKnobTwoRunsDifferInIsFound() {
        let fast = SyntheticMatrix.contention(id: 1, thinkMs: 0, repetitions: 2, seed: 1)
        let slow = SyntheticMatrix.contention(id: 2, thinkMs: 10, repetitions: 2, seed: 2)
        #expect(RunComparison.differingKnob(fast.entries, slow.entries) == .thinkMs)
    }

    @Test func strategiesWithinOneRunPairByTheirStampede() throws {
        let record = SyntheticMatrix.contention()
        let comparison = RunComparison(entries: record.entries, strategyA: .pessimistic, strategyB: .optimistic)
        #expect(comparison.rows.count == 4 * RunComparison.Metric.allCases.count)
        let row = try #require(comparison.rows.first { $0.metric == .throughputPerSec })
        #expect(row.cellA.strategy == .pessimistic && row.cellB.strategy == .optimistic)
        #expect(row.cellA.with(strategy: .optimistic) == row.cellB)
        #expect(row.beyondNoise)
    }

    @Test func tableListsRowsVerdictsAndUnmatchedCellsWithoutColourWhenAsked() {
        var b = entries(cell, throughputs: [500, 515, 488])
        b += entries(cell.with(strategy: .advisory), throughputs: [900, 910])
        let comparison = RunComparison(a: entries(cell, throughputs: [1000, 1030, 975]), b: b)
        let text = ComparisonTable(comparison: comparison, titleA: "#1", titleB: "#2").render()
        #expect(text.contains("beyond noise"))
        #expect(text.contains("within noise"))
        #expect(text.contains("only in B: advisory b=100"))
        #expect(!text.contains("\u{1B}["))
        #expect(ComparisonTable(comparison: comparison, titleA: "#1", titleB: "#2", colour: true).render().contains("\u{1B}["))
    }

    @Test func rowsEncodeAsJSON() throws {
        let comparison = RunComparison(a: entries(cell, throughputs: [1000, 1030]), b: entries(cell, throughputs: [500, 510]))
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(comparison.rows)) as? [[String: Any]])
        #expect(object.count == RunComparison.Metric.allCases.count)
        #expect(object.first?["verdict"] as? String != nil)
        #expect(object.first?["beyondNoise"] as? Bool != nil)
    }
}

extension RunComparisonTests {
    func oversoldRow(_ a: [Int], _ b: [Int]) throws -> RunComparison.Row {
        let naive = cell.with(strategy: .naive)
        func entries(_ oversold: [Int]) -> [MatrixRunEntry] {
            oversold.enumerated().map { index, units in
                MatrixRunEntry(
                    cell: naive,
                    repetition: index + 1,
                    report: SyntheticMatrix.report(cell: naive, throughput: 1000, p99: 50, oversold: units)
                )
            }
        }
        let comparison = RunComparison(a: entries(a), b: entries(b))
        return try #require(comparison.rows.first { $0.metric == .oversold })
    }

    @Test func identicalSmallCountsAreNotCertainDifferences() throws {
        #expect(try !oversoldRow([1, 1, 1], [0, 0, 0]).beyondNoise)
        #expect(try !oversoldRow([1, 1, 1], [2, 2, 2]).beyondNoise)
        #expect(try oversoldRow([17, 17, 17], [1, 1, 1]).beyondNoise)
    }
}
