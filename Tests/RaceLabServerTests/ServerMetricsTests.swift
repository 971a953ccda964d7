import Foundation
import RaceLabCore
import Testing

@testable import RaceLabServer

/// `/metrics` as a scraper reads it: the ledger's exposition checked against the Prometheus text format
/// (version 0.0.4), with no servers.
@Suite struct ServerMetricsTests {
    private let run = UUID()

    /// A ledger with some of everything: own purchases settled (a built-in and a strategy from a file), one
    /// still pending, one not confirmed, one of a harness run.
    private func busyLedger() throws -> PurchaseLedger {
        let ledger = PurchaseLedger(ownRun: run)
        let custom = try #require(StrategyName(rawValue: "my-strategy.v2"))
        let settled = [
            PurchaseRequest(requestId: UUID(), runId: run, itemId: 1, buyerId: 1, strategy: .pessimistic, publishedAt: 1_000_000_000),
            PurchaseRequest(requestId: UUID(), runId: run, itemId: 1, buyerId: 2, strategy: .pessimistic, publishedAt: 1_000_000_000),
            PurchaseRequest(requestId: UUID(), runId: run, itemId: 1, buyerId: 3, strategy: custom, publishedAt: 1_000_000_000),
        ]
        let pending = PurchaseRequest(requestId: UUID(), runId: run, itemId: 1, buyerId: 4, strategy: .optimistic)
        let notConfirmed = PurchaseRequest(requestId: UUID(), runId: run, itemId: 1, buyerId: 5, strategy: .optimistic)
        let harness = PurchaseRequest(requestId: UUID(), runId: UUID(), itemId: 1, buyerId: 6, strategy: .naive)
        for request in settled + [pending, notConfirmed, harness] { _ = ledger.claim(request) }
        for request in settled + [pending, harness] { ledger.recordConfirmed(request.requestId) }
        ledger.recordUnconfirmed(notConfirmed.requestId)
        for (request, (outcome, latencyMs)) in zip(settled, [(PurchaseOutcome.purchased, 3), (.soldOut, 40), (.purchased, 2_000)]) {
            let message = OutcomeMessage(
                requestId: request.requestId,
                runId: run,
                itemId: 1,
                strategy: request.strategy,
                outcome: outcome,
                retries: 0,
                worker: "test",
                finishedAt: request.publishedAt + UInt64(latencyMs) * 1_000_000
            )
            ledger.recordOutcome(message)
        }
        return ledger
    }

    @Test(arguments: [7, nil] as [Int?])
    func theExpositionIsValidPrometheusText(queueDepth: Int?) throws {
        let text = try busyLedger().snapshot().exposition(queueDepth: queueDepth)
        let families = try PrometheusText.parse(text)
        #expect(
            Set(families.keys).isSuperset(of: [
                "racelab_purchases_total", "racelab_purchase_latency_seconds", "racelab_purchases_accepted_total",
                "racelab_purchases_forwarded_total", "racelab_purchases_unavailable_total", "racelab_purchases_pending",
                "racelab_purchases_unknown", "racelab_broker_up",
            ])
        )
        #expect(families["racelab_purchases_total"]?.type == "counter")
        #expect(families["racelab_purchase_latency_seconds"]?.type == "histogram")
        #expect(families["racelab_purchases_pending"]?.type == "gauge")
        #expect(families.values.allSatisfy { $0.help?.isEmpty == false })
    }

    @Test func theExpositionCountsWhatTheLedgerRecorded() throws {
        let families = try PrometheusText.parse(try busyLedger().snapshot().exposition(queueDepth: 7))
        let samples = families.values.flatMap(\.samples)
        let value = { (name: String, labels: [String: String]) in samples.first { $0.name == name && $0.labels == labels }?.value }
        #expect(value("racelab_purchases_total", ["strategy": "pessimistic", "outcome": "purchased"]) == 1)
        #expect(value("racelab_purchases_total", ["strategy": "pessimistic", "outcome": "soldOut"]) == 1)
        #expect(value("racelab_purchases_total", ["strategy": "my-strategy.v2", "outcome": "purchased"]) == 1)
        #expect(value("racelab_purchases_total", ["strategy": "my-strategy.v2", "outcome": "failed"]) == 0)  // all outcomes, from the first
        #expect(value("racelab_purchases_total", ["strategy": "skip-locked", "outcome": "gaveUp"]) == 0)  // every built-in, from the start
        #expect(value("racelab_purchases_accepted_total", [:]) == 4)
        #expect(value("racelab_purchases_forwarded_total", [:]) == 1)
        #expect(value("racelab_purchases_unavailable_total", [:]) == 1)
        #expect(value("racelab_purchases_pending", [:]) == 1)
        #expect(value("racelab_purchases_unknown", [:]) == 1)
        #expect(value("racelab_queue_depth", [:]) == 7)
        #expect(value("racelab_broker_up", [:]) == 1)
        #expect(value("racelab_purchase_latency_seconds_bucket", ["le": "0.0025"]) == 0)
        #expect(value("racelab_purchase_latency_seconds_bucket", ["le": "0.005"]) == 1)
        #expect(value("racelab_purchase_latency_seconds_bucket", ["le": "0.05"]) == 2)
        #expect(value("racelab_purchase_latency_seconds_bucket", ["le": "1.0"]) == 2)
        #expect(value("racelab_purchase_latency_seconds_bucket", ["le": "+Inf"]) == 3)
        #expect(value("racelab_purchase_latency_seconds_count", [:]) == 3)
        let sum = try #require(value("racelab_purchase_latency_seconds_sum", [:]))
        #expect(abs(sum - 2.043) < 1e-9)
    }

    @Test func theQueueDepthIsLeftOutWhileTheBrokerDoesNotAnswerAndBackOnceItDoes() throws {
        let snapshot = try busyLedger().snapshot()
        #expect(snapshot.exposition(queueDepth: 3).contains("racelab_queue_depth 3"))
        let down = snapshot.exposition(queueDepth: nil)
        #expect(!down.contains("racelab_queue_depth"))
        #expect(down.contains("racelab_broker_up 0"))
        #expect(snapshot.exposition(queueDepth: 5).contains("racelab_queue_depth 5"))
    }

    @Test(arguments: [
        "x 1\n# TYPE x counter\n",  // a sample before its TYPE
        "# TYPE x counter\n# HELP x late\nx 1\n# HELP x again\n",  // HELP twice
        "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 2\nx 3\n",  // a family's samples apart
        "# TYPE x gauge\nx{a=\"1\" 1\n",  // an unclosed label set
        "# TYPE h histogram\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // not cumulative
        "# TYPE x gauge\nx one\n",  // not a number
    ])
    func theReaderRejectsWhatIsNotPrometheusText(text: String) {
        #expect(throws: PrometheusText.Malformed.self) { try PrometheusText.parse(text) }
    }

    @Test func ledgersInOneProcessCountApart() throws {
        _ = try busyLedger()
        let fresh = PurchaseLedger(ownRun: run)
        let families = try PrometheusText.parse(fresh.snapshot().exposition(queueDepth: 0))
        #expect(families["racelab_purchases_accepted_total"]?.samples.map(\.value) == [0])
        #expect(families["racelab_purchases_total"]?.samples.allSatisfy { $0.value == 0 } == true)
    }
}

/// A strict reader of the Prometheus text format (version 0.0.4), enough to check what the server emits:
/// every line a `# HELP`, a `# TYPE` or a sample; a family's HELP and TYPE once each and before its samples;
/// a family's samples together; a histogram's buckets cumulative, ending at `+Inf` with its `_count`.
enum PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Family {
        var help: String?
        var type: String?
        var samples: [Sample] = []
    }

    struct Malformed: Error, CustomStringConvertible {
        var line: String
        var reason: String
        var description: String { "\(reason): \(line)" }
    }

    /// The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own.
    private static func family(of sample: String, types: [String: String]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where sample.hasSuffix(suffix) {
            let base = String(sample.dropLast(suffix.count))
            if types[base] == "histogram" { return base }
        }
        return sample
    }

    static func parse(_ text: String) throws -> [String: Family] {
        guard text.hasSuffix("\n") else { throw Malformed(line: String(text.suffix(40)), reason: "no line feed at the end") }
        let name = #"[a-zA-Z_:][a-zA-Z0-9_:]*"#
        let help = try Regex(#"^# HELP (\#(name)) (.*)$"#)
        let type = try Regex(#"^# TYPE (\#(name)) (counter|gauge|histogram|summary|untyped)$"#)
        let sample = try Regex(#"^(\#(name))(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)(?: -?[0-9]+)?$"#)
        let label = try Regex(#"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)""#)
        var families: [String: Family] = [:]
        var types: [String: String] = [:]
        var finished: Set<String> = []
        var current: String?
        func enter(_ family: String, _ line: String) throws {
            guard current != family else { return }
            if let current { finished.insert(current) }
            guard !finished.contains(family) else { throw Malformed(line: line, reason: "the family's lines are not together") }
            current = family
        }
        for line in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let match = try help.wholeMatch(in: line) {
                let family = String(match.output[1].substring ?? "")
                try enter(family, line)
                guard families[family]?.help == nil, families[family]?.samples.isEmpty ?? true else {
                    throw Malformed(line: line, reason: "HELP again, or after the samples")
                }
                families[family, default: Family()].help = String(match.output[2].substring ?? "")
            } else if let match = try type.wholeMatch(in: line) {
                let family = String(match.output[1].substring ?? "")
                try enter(family, line)
                guard families[family]?.type == nil, families[family]?.samples.isEmpty ?? true else {
                    throw Malformed(line: line, reason: "TYPE again, or after the samples")
                }
                let kind = String(match.output[2].substring ?? "")
                families[family, default: Family()].type = kind
                types[family] = kind
            } else if let match = try sample.wholeMatch(in: line) {
                let sampleName = String(match.output[1].substring ?? "")
                let family = Self.family(of: sampleName, types: types)
                try enter(family, line)
                guard types[family] != nil else { throw Malformed(line: line, reason: "a sample before its TYPE") }
                var labels: [String: String] = [:]
                for pair in String(match.output[2].substring ?? "").matches(of: label) {
                    let key = String(pair.output[1].substring ?? "")
                    guard labels[key] == nil else { throw Malformed(line: line, reason: "a label twice") }
                    labels[key] = String(pair.output[2].substring ?? "")
                }
                let text = String(match.output[3].substring ?? "")
                guard let value = Double(text == "+Inf" ? "inf" : text == "-Inf" ? "-inf" : text) else {
                    throw Malformed(line: line, reason: "not a number")
                }
                families[family, default: Family()].samples.append(Sample(name: sampleName, labels: labels, value: value))
            } else {
                throw Malformed(line: line, reason: "neither HELP, TYPE nor a sample")
            }
        }
        for (name, family) in families where family.type == "histogram" { try checkHistogram(name, family) }
        return families
    }

    /// Buckets per label set: cumulative, the last `+Inf`, equal to `_count`.
    private static func checkHistogram(_ name: String, _ family: Family) throws {
        let buckets = family.samples.filter { $0.name == name + "_bucket" }
        guard let infinity = buckets.last, infinity.labels["le"] == "+Inf" else {
            throw Malformed(line: name, reason: "a histogram without its +Inf bucket last")
        }
        let bounds = buckets.compactMap { $0.labels["le"].flatMap { Double($0 == "+Inf" ? "inf" : $0) } }
        guard bounds.count == buckets.count, bounds == bounds.sorted(), buckets.map(\.value) == buckets.map(\.value).sorted() else {
            throw Malformed(line: name, reason: "histogram buckets not cumulative")
        }
        guard family.samples.first(where: { $0.name == name + "_count" })?.value == infinity.value,
            family.samples.contains(where: { $0.name == name + "_sum" })
        else { throw Malformed(line: name, reason: "a histogram's _count is not its +Inf bucket, or no _sum") }
    }
}
