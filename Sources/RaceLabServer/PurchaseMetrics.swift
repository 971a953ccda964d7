import Histogram
import RaceLabCore
import RaceLabPipeline

/// Counters and a latency histogram of the purchases this server accepted, in Prometheus terms, plus an
/// HdrHistogram of the same latencies (microseconds) for exact percentiles (`GET /stats`).
///
/// Latency runs from the moment the server published a request to the moment its worker committed
/// (`OutcomeMessage.finishedAt`), both on the wall clock.
struct PurchaseMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let bucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private(set) var outcomes: [StrategyName: [PurchaseOutcome: Int]] = [:]
    private(set) var bucketCounts = [Int](repeating: 0, count: bucketBounds.count)
    private(set) var latencyCount = 0
    private(set) var latencySum = 0.0
    /// This server's purchases the broker confirmed.
    private(set) var accepted = 0
    /// Harness runs' purchases (another run's id) the broker confirmed; their outcomes go to the harness.
    private(set) var forwarded = 0
    private(set) var rejected = 0
    /// Publish-to-commit latencies in microseconds, up to an hour.
    private(set) var latencyMicroseconds = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    mutating func recordAccepted(forwarded isForwarded: Bool = false) {
        if isForwarded { forwarded += 1 } else { accepted += 1 }
    }

    mutating func recordRejected() { rejected += 1 }

    mutating func record(_ outcome: PurchaseOutcome, strategy: StrategyName, latencySeconds: Double?) {
        outcomes[strategy, default: [:]][outcome, default: 0] += 1
        guard let latency = latencySeconds else { return }
        latencyCount += 1
        latencySum += latency
        if let bucket = Self.bucketBounds.firstIndex(where: { latency <= $0 }) { bucketCounts[bucket] += 1 }
        _ = latencyMicroseconds.record(UInt64(min(max(latency * 1e6, 0), 3.6e9)))
    }

    /// Outcomes over every strategy, each outcome present (zero when none).
    var outcomeTotals: [PurchaseOutcome: Int] {
        var totals = Dictionary(uniqueKeysWithValues: PurchaseOutcome.allCases.map { ($0, 0) })
        for counts in outcomes.values {
            for (outcome, count) in counts { totals[outcome, default: 0] += count }
        }
        return totals
    }

    /// Latency percentiles in milliseconds (all zero before the first outcome).
    var latencySummary: LatencySummary { LatencySummary(microseconds: latencyMicroseconds) }

    /// The Prometheus text exposition (version 0.0.4); `queueDepth` is nil when the broker did not answer;
    /// `pending` and `unknown` are the ledger's current counts.
    func exposition(queueDepth: Int?, pending: Int, unknown: Int) -> String {
        var lines = [
            "# HELP racelab_purchases_total Purchase outcomes seen by this server, by strategy and outcome.",
            "# TYPE racelab_purchases_total counter",
        ]
        for strategy in Set(StrategyName.builtIn + outcomes.keys).sorted() {
            for outcome in PurchaseOutcome.allCases {
                let count = outcomes[strategy]?[outcome] ?? 0
                lines.append("racelab_purchases_total{strategy=\"\(strategy.rawValue)\",outcome=\"\(outcome.rawValue)\"} \(count)")
            }
        }
        lines += [
            "# HELP racelab_purchases_accepted_total Purchases of this server the broker confirmed (answered 202).",
            "# TYPE racelab_purchases_accepted_total counter",
            "racelab_purchases_accepted_total \(accepted)",
            "# HELP racelab_purchases_forwarded_total Purchases of harness runs (racelab run --via http) the broker confirmed; their outcomes go to the harness.",
            "# TYPE racelab_purchases_forwarded_total counter",
            "racelab_purchases_forwarded_total \(forwarded)",
            "# HELP racelab_purchases_unavailable_total Publishes the broker did not confirm or could not take (answered 503).",
            "# TYPE racelab_purchases_unavailable_total counter",
            "racelab_purchases_unavailable_total \(rejected)",
            "# HELP racelab_purchases_pending Purchases of this server awaiting their outcome.",
            "# TYPE racelab_purchases_pending gauge",
            "racelab_purchases_pending \(pending)",
            "# HELP racelab_purchases_unknown Purchases of this server whose fate is unknown (not confirmed, or no outcome in time).",
            "# TYPE racelab_purchases_unknown gauge",
            "racelab_purchases_unknown \(unknown)",
            "# HELP racelab_purchase_latency_seconds From publish to the worker's commit.",
            "# TYPE racelab_purchase_latency_seconds histogram",
        ]
        var cumulative = 0
        for (bound, count) in zip(Self.bucketBounds, bucketCounts) {
            cumulative += count
            lines.append("racelab_purchase_latency_seconds_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        lines += [
            "racelab_purchase_latency_seconds_bucket{le=\"+Inf\"} \(latencyCount)",
            "racelab_purchase_latency_seconds_sum \(latencySum)",
            "racelab_purchase_latency_seconds_count \(latencyCount)",
            "# HELP racelab_broker_up Whether RabbitMQ answered this scrape.",
            "# TYPE racelab_broker_up gauge",
            "racelab_broker_up \(queueDepth == nil ? 0 : 1)",
        ]
        if let queueDepth {
            lines += [
                "# HELP racelab_queue_depth Ready messages in racelab.purchases.",
                "# TYPE racelab_queue_depth gauge",
                "racelab_queue_depth \(queueDepth)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
