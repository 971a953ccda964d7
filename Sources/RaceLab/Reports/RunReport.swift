import Foundation

/// Everything one stampede against one strategy produced: the stable JSON object of `racelab run --format json`.
///
/// Field names are part of the interface (documented in the README); add fields, never rename them.
public struct RunReport: Sendable, Equatable, Codable {
    public var strategy: StrategyName
    public var runId: UUID
    public var buyers: Int
    /// Stock of each item before the run.
    public var stock: Int
    public var items: Int
    public var workers: Int
    public var consumersPerWorker: Int
    public var thinkMs: Int
    public var seed: UInt64
    /// Units in the run's committed orders, read from the database.
    public var sold: Int
    /// Sum over items of max(0, sold − stock).
    public var oversold: Int
    /// Stock left over all items, read from the database.
    public var finalStock: Int
    public var outcomes: OutcomeCounts
    /// Times a strategy started over, summed over requests.
    public var retries: Int
    /// From the instant the gate opened to each request's commit (or settlement).
    public var latencyMs: LatencySummary
    /// Requests settled per second.
    public var throughputPerSec: Double
    /// From the gate opening to the last outcome.
    public var durationSec: Double
    /// Broken invariants in plain words; empty when all hold.
    public var violations: [String]
    /// The per-item picture behind `sold`, `oversold` and `finalStock`.
    public var perItem: [RunObservation.Item]
    /// The latency percentile curve behind `latencyMs`, for plots: (percentile, milliseconds) points.
    public var latencyCurve: [LatencyPoint]

    public init(
        strategy: StrategyName,
        runId: UUID,
        configuration: StampedeConfiguration,
        observation: RunObservation,
        outcomes: OutcomeCounts,
        retries: Int,
        latencyMs: LatencySummary,
        durationSec: Double,
        violations: [String],
        latencyCurve: [LatencyPoint] = []
    ) {
        self.strategy = strategy
        self.runId = runId
        self.buyers = configuration.buyers
        self.stock = configuration.stock
        self.items = configuration.items
        self.workers = configuration.workers
        self.consumersPerWorker = configuration.consumersPerWorker
        self.thinkMs = configuration.thinkMs
        self.seed = configuration.seed
        self.sold = observation.items.reduce(0) { $0 + $1.sold }
        self.oversold = observation.items.reduce(0) { $0 + max(0, $1.sold - $1.initialStock) }
        self.finalStock = observation.items.reduce(0) { $0 + $1.finalStock }
        self.outcomes = outcomes
        self.retries = retries
        self.latencyMs = latencyMs
        let settled = outcomes.total - outcomes.indeterminate
        self.durationSec = (durationSec * 1000).rounded() / 1000
        self.throughputPerSec = durationSec > 0 ? (Double(settled) / durationSec * 10).rounded() / 10 : 0
        self.violations = violations
        self.perItem = observation.items
        self.latencyCurve = latencyCurve
    }

    /// Total stock before the run, over all items.
    public var initialStock: Int { perItem.reduce(0) { $0 + $1.initialStock } }
}
