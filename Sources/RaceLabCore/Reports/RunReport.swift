import Foundation
import Postgres

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
    /// Units each buyer asked for.
    public var quantity: Int
    /// The isolation level the strategy's transactions ran at.
    public var isolation: IsolationLevel
    /// Units in the run's committed orders, read from the database.
    public var sold: Int
    /// Sum over items of max(0, sold − stock).
    public var oversold: Int
    /// Stock left over all items, read from the database (where the strategy keeps it).
    public var finalStock: Int
    /// Units left in stock that buyers turned away could have bought: sum over items where some buyer was
    /// turned away (sold out or gave up) of the stock left, in whole quantities, up to what they asked.
    public var undersold: Int
    public var outcomes: OutcomeCounts
    /// Times a strategy started over, summed over requests.
    public var retries: Int
    /// Transactions the server aborted (serialization failures 40001, deadlocks 40P01), summed over requests.
    public var aborts: Int
    /// From the instant the gate opened (open loop: the request's intended send time) to each request's
    /// commit (or settlement).
    public var latencyMs: LatencySummary
    /// Requests settled per second.
    public var throughputPerSec: Double
    /// False for a partial report (a run that timed out with requests still unsettled): its latency
    /// and throughput describe only the requests that finished, so they are shown as unknown.
    public var timingKnown: Bool
    /// From the gate opening (open loop: the first intended send time) to the last outcome.
    public var durationSec: Double
    /// Broken invariants in plain words; empty when all hold.
    public var violations: [String]
    /// The per-item picture behind `sold`, `oversold` and `finalStock`.
    public var perItem: [RunObservation.Item]
    /// The latency percentile curve behind `latencyMs`, for plots: (percentile, milliseconds) points.
    public var latencyCurve: [LatencyPoint]
    /// How the requests reached the workers: `queue` (published by the harness) or `http` (through the API).
    public var via: String
    /// Seconds the publish phase took (every request handed over and confirmed), before the gate opened.
    /// In an open-loop run, the time it took to send them all at the offered rate.
    public var publishSec: Double
    /// Open loop: the offered rate, requests per second; latency then counts from each request's
    /// intended send time and the duration from the first one. Absent for a closed stampede.
    public var ratePerSec: Double?
    /// `--chaos kill-worker`: the seconds, from the start of the run, at which a worker was killed;
    /// absent without chaos.
    public var workerKillsSec: [Double]?

    public init(
        strategy: StrategyName,
        runId: UUID,
        configuration: StampedeConfiguration,
        isolation: IsolationLevel = .readCommitted,
        observation: RunObservation,
        outcomes: OutcomeCounts,
        retries: Int,
        aborts: Int = 0,
        latencyMs: LatencySummary,
        durationSec: Double,
        violations: [String],
        latencyCurve: [LatencyPoint] = [],
        via: String = "queue",
        publishSec: Double = 0
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
        self.quantity = configuration.quantity
        self.isolation = isolation
        self.undersold = observation.items.reduce(0) { $0 + $1.undersold(quantity: configuration.quantity) }
        self.aborts = aborts
        self.sold = observation.items.reduce(0) { $0 + $1.sold }
        self.oversold = observation.items.reduce(0) { $0 + max(0, $1.sold - $1.initialStock) }
        self.finalStock = observation.items.reduce(0) { $0 + $1.finalStock }
        self.outcomes = outcomes
        self.retries = retries
        self.latencyMs = latencyMs
        let settled = outcomes.total - outcomes.indeterminate
        self.durationSec = (durationSec * 1000).rounded() / 1000
        self.throughputPerSec = durationSec > 0 ? (Double(settled) / durationSec * 10).rounded() / 10 : 0
        self.timingKnown = outcomes.indeterminate == 0
        self.violations = violations
        self.perItem = observation.items
        self.latencyCurve = latencyCurve
        self.via = via
        self.publishSec = (publishSec * 1000).rounded() / 1000
        self.ratePerSec = configuration.ratePerSec
    }

    /// Total stock before the run, over all items.
    public var initialStock: Int { perItem.reduce(0) { $0 + $1.initialStock } }
}

extension RunReport {
    /// Decodes reports stored before some fields existed: `via` as the queue, `publishSec` 0, `quantity` 1,
    /// `isolation` read committed, `undersold` and `aborts` 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        strategy = try container.decode(StrategyName.self, forKey: .strategy)
        runId = try container.decode(UUID.self, forKey: .runId)
        buyers = try container.decode(Int.self, forKey: .buyers)
        stock = try container.decode(Int.self, forKey: .stock)
        items = try container.decode(Int.self, forKey: .items)
        workers = try container.decode(Int.self, forKey: .workers)
        consumersPerWorker = try container.decode(Int.self, forKey: .consumersPerWorker)
        thinkMs = try container.decode(Int.self, forKey: .thinkMs)
        seed = try container.decode(UInt64.self, forKey: .seed)
        quantity = try container.decodeIfPresent(Int.self, forKey: .quantity) ?? 1
        isolation = try container.decodeIfPresent(IsolationLevel.self, forKey: .isolation) ?? .readCommitted
        undersold = try container.decodeIfPresent(Int.self, forKey: .undersold) ?? 0
        aborts = try container.decodeIfPresent(Int.self, forKey: .aborts) ?? 0
        sold = try container.decode(Int.self, forKey: .sold)
        oversold = try container.decode(Int.self, forKey: .oversold)
        finalStock = try container.decode(Int.self, forKey: .finalStock)
        outcomes = try container.decode(OutcomeCounts.self, forKey: .outcomes)
        retries = try container.decode(Int.self, forKey: .retries)
        latencyMs = try container.decode(LatencySummary.self, forKey: .latencyMs)
        throughputPerSec = try container.decode(Double.self, forKey: .throughputPerSec)
        timingKnown = try container.decodeIfPresent(Bool.self, forKey: .timingKnown) ?? (outcomes.indeterminate == 0)
        durationSec = try container.decode(Double.self, forKey: .durationSec)
        violations = try container.decode([String].self, forKey: .violations)
        perItem = try container.decode([RunObservation.Item].self, forKey: .perItem)
        latencyCurve = try container.decode([LatencyPoint].self, forKey: .latencyCurve)
        via = try container.decodeIfPresent(String.self, forKey: .via) ?? "queue"
        publishSec = try container.decodeIfPresent(Double.self, forKey: .publishSec) ?? 0
        ratePerSec = try container.decodeIfPresent(Double.self, forKey: .ratePerSec)
        workerKillsSec = try container.decodeIfPresent([Double].self, forKey: .workerKillsSec)
    }
}
