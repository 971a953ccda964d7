import Foundation
import Histogram
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct RunReportTests {
    func report(items: [RunObservation.Item], outcomes: OutcomeCounts, duration: Double = 2) -> RunReport {
        RunReport(
            strategy: .naive,
            runId: UUID(),
            configuration: StampedeConfiguration(buyers: outcomes.total, stock: 1, items: items.count),
            observation: RunObservation(items: items, duplicateRequestIds: []),
            outcomes: outcomes,
            retries: 3,
            latencyMs: .zero,
            durationSec: duration,
            violations: []
        )
    }

    @Test func oversoldSumsOnlyTheExcessOfEachItem() {
        var outcomes = OutcomeCounts()
        outcomes.purchased = 7
        outcomes.soldOut = 3
        let r = report(
            items: [
                .init(itemId: 1, initialStock: 1, finalStock: 0, sold: 4, orders: 4),
                .init(itemId: 2, initialStock: 5, finalStock: 2, sold: 3, orders: 3),
            ],
            outcomes: outcomes
        )
        #expect(r.sold == 7)
        #expect(r.oversold == 3)
        #expect(r.finalStock == 2)
        #expect(r.initialStock == 6)
    }

    @Test func throughputCountsSettledRequestsOnly() {
        var outcomes = OutcomeCounts()
        outcomes.purchased = 100
        outcomes.soldOut = 300
        outcomes.indeterminate = 100
        let r = report(items: [.init(itemId: 1, initialStock: 100, finalStock: 0, sold: 100, orders: 100)], outcomes: outcomes, duration: 2)
        #expect(r.throughputPerSec == 200)
        #expect(r.outcomes.total == 500)
    }

    @Test func aPartialRunsTimingIsUnknownInTheTableAndTheJSON() throws {
        var outcomes = OutcomeCounts()
        outcomes.purchased = 62
        outcomes.indeterminate = 238
        let partial = report(items: [.init(itemId: 1, initialStock: 100, finalStock: 38, sold: 62, orders: 62)], outcomes: outcomes)
        #expect(!partial.timingKnown)
        let row = try #require(ReportTable(reports: [partial]).render().split(separator: "\n").first { $0.hasPrefix("naive") })
        let cells = row.split(separator: " ").map(String.init)
        #expect(cells.filter { $0 == "?" }.count == 4, "p50, p99, max and req/s: \(row)")
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(partial)) as? [String: Any])
        #expect(object["timingKnown"] as? Bool == false)
        outcomes.indeterminate = 0
        #expect(report(items: partial.perItem, outcomes: outcomes).timingKnown)
    }

    @Test func outcomeCountsAddUpEveryKind() {
        var counts = OutcomeCounts()
        for outcome in PurchaseOutcome.allCases { counts.record(outcome) }
        counts.indeterminate = 2
        #expect(counts.total == PurchaseOutcome.allCases.count + 2)
    }

    @Test func jsonCarriesTheDocumentedFields() throws {
        var outcomes = OutcomeCounts()
        outcomes.purchased = 1
        let r = report(items: [.init(itemId: 1, initialStock: 1, finalStock: 0, sold: 1, orders: 1)], outcomes: outcomes)
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as? [String: Any])
        for key in [
            "strategy", "buyers", "stock", "items", "workers", "consumersPerWorker", "thinkMs", "seed", "sold", "oversold", "finalStock",
            "outcomes", "retries", "latencyMs", "throughputPerSec", "durationSec", "violations", "via", "publishSec",
        ] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let outcomeKeys = try #require(object["outcomes"] as? [String: Any]).keys
        #expect(Set(outcomeKeys).isSuperset(of: ["purchased", "soldOut", "gaveUp", "failed", "deadLettered"]))
        #expect(Set(try #require(object["latencyMs"] as? [String: Any]).keys) == ["p50", "p90", "p99", "max"])
    }

    @Test func reportsStoredBeforeViaDecodeAsQueueRuns() throws {
        var r = report(items: [.init(itemId: 1, initialStock: 1, finalStock: 0, sold: 1, orders: 1)], outcomes: OutcomeCounts())
        r.via = "http"
        r.publishSec = 0.25
        #expect(try JSONDecoder().decode(RunReport.self, from: JSONEncoder().encode(r)) == r)
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as? [String: Any])
        object["via"] = nil
        object["publishSec"] = nil
        let old = try JSONDecoder().decode(RunReport.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.via == "queue")
        #expect(old.publishSec == 0)
        #expect(!ReportTable(reports: [old]).render().contains("via http"))
        #expect(ReportTable(reports: [r]).render().contains("via http"))
    }

    @Test func latencyPercentilesComeFromTheHistogramInMilliseconds() {
        var histogram = LatencySummary.makeHistogram()
        for micros in 1...1000 { _ = histogram.record(UInt64(micros) * 1000) }  // 1 ms … 1000 ms
        let summary = LatencySummary(microseconds: histogram)
        #expect(abs(summary.p50 - 500) < 1)
        #expect(abs(summary.p99 - 990) < 2)
        #expect(abs(summary.max - 1000) < 2)
        #expect(LatencySummary(microseconds: LatencySummary.makeHistogram()) == .zero)
    }

    @Test func theTableHasOneRowPerStrategyAndSpellsOutViolations() {
        var outcomes = OutcomeCounts()
        outcomes.purchased = 3
        var naive = report(items: [.init(itemId: 1, initialStock: 1, finalStock: 0, sold: 3, orders: 3)], outcomes: outcomes)
        naive.violations = ["item 1: sold 3 of a stock of 1 (oversold by 2)"]
        var locked = naive
        locked.strategy = .pessimistic
        locked.violations = []
        let text = ReportTable(reports: [naive, locked]).render()
        #expect(text.contains("naive"))
        #expect(text.contains("pessimistic"))
        #expect(text.contains("naive: item 1: sold 3 of a stock of 1 (oversold by 2)"))
        #expect(!text.contains("\u{1B}["))
    }
}
