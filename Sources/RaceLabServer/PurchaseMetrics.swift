import Histogram
import RaceLabCore
import RaceLabPipeline

/// The counts `/stats` shows of the purchases this server accepted, with an HdrHistogram of their latencies
/// (microseconds) for exact percentiles; every record is passed on to the Prometheus metrics (`/metrics`).
///
/// Latency runs from the moment the server published a request to the moment its worker committed
/// (`OutcomeMessage.finishedAt`), both on the wall clock.
struct PurchaseMetrics: Sendable {
    /// Where `/metrics` reads the same records from: a registry of this ledger's own, so of its server's.
    let prometheus = ServerMetrics()
    /// Outcomes over every strategy, each outcome present (zero when none).
    private(set) var outcomeTotals = Dictionary(uniqueKeysWithValues: PurchaseOutcome.allCases.map { ($0, 0) })
    /// This server's purchases the broker confirmed.
    private(set) var accepted = 0
    /// Harness runs' purchases (another run's id) the broker confirmed; their outcomes go to the harness.
    private(set) var forwarded = 0
    /// Publish-to-commit latencies in microseconds, up to an hour.
    private(set) var latencyMicroseconds = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    mutating func recordAccepted(forwarded isForwarded: Bool = false) {
        if isForwarded { forwarded += 1 } else { accepted += 1 }
        prometheus.recordAccepted(forwarded: isForwarded)
    }

    func recordRejected() { prometheus.recordUnavailable() }

    mutating func record(_ outcome: PurchaseOutcome, strategy: StrategyName, latencySeconds: Double?) {
        outcomeTotals[outcome, default: 0] += 1
        prometheus.record(outcome, strategy: strategy, latencySeconds: latencySeconds)
        guard let latency = latencySeconds else { return }
        _ = latencyMicroseconds.record(UInt64(min(max(latency * 1e6, 0), 3.6e9)))
    }

    /// Latency percentiles in milliseconds (all zero before the first outcome).
    var latencySummary: LatencySummary { LatencySummary(microseconds: latencyMicroseconds) }
}
