import Prometheus
import RaceLabCore
import Synchronization

/// The server's Prometheus metrics (`GET /metrics`), on a `PrometheusCollectorRegistry` of its own rather than
/// a process-wide `MetricsSystem`, so several servers in one process (the tests) count apart.
///
/// Counters and the latency histogram are recorded as purchases happen, from any thread (the ledger calls
/// under its lock; each metric is atomic or locks itself). The gauges that are the ledger's state or
/// RabbitMQ's answer are set on each scrape, in ``exposition(pending:unknown:queueDepth:)``.
final class ServerMetrics: Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private let registry: PrometheusCollectorRegistry
    /// Each strategy's counter per outcome; a strategy gets all of them, at zero, when it is first seen
    /// (the built-ins at start), so a dashboard's rate() has a series to start from.
    private let purchases: Mutex<[StrategyName: [PurchaseOutcome: Counter]]>
    private let accepted: Counter
    private let forwarded: Counter
    private let unavailable: Counter
    private let latency: ValueHistogram
    private let pending: Gauge
    private let unknown: Gauge
    private let brokerUp: Gauge
    /// Ready messages in the purchase queue: registered while RabbitMQ answers scrapes, absent otherwise.
    /// The lock also keeps one scrape's gauges from mixing with another's.
    private let queueDepth = Mutex<Gauge?>(nil)

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        accepted = registry.makeCounter(
            descriptor: Self.name("purchases_accepted", "total", help: "Purchases of this server the broker confirmed (answered 202).")
        )
        forwarded = registry.makeCounter(
            descriptor: Self.name(
                "purchases_forwarded",
                "total",
                help: "Purchases of harness runs (racelab run --via http) the broker confirmed; their outcomes go to the harness."
            )
        )
        unavailable = registry.makeCounter(
            descriptor: Self.name("purchases_unavailable", "total", help: "Publishes the broker did not confirm or could not take (answered 503).")
        )
        latency = registry.makeValueHistogram(
            descriptor: Self.name("purchase_latency", "seconds", help: "From publish to the worker's commit."),
            buckets: Self.latencyBuckets
        )
        pending = registry.makeGauge(descriptor: Self.name("purchases_pending", help: "Purchases of this server awaiting their outcome."))
        unknown = registry.makeGauge(
            descriptor: Self.name("purchases_unknown", help: "Purchases of this server whose fate is unknown (not confirmed, or no outcome in time).")
        )
        brokerUp = registry.makeGauge(descriptor: Self.name("broker_up", help: "Whether RabbitMQ answered this scrape."))
        purchases = Mutex(Dictionary(uniqueKeysWithValues: StrategyName.builtIn.map { ($0, Self.outcomeCounters(of: $0, in: registry)) }))
    }

    func recordAccepted(forwarded isForwarded: Bool) {
        (isForwarded ? forwarded : accepted).increment()
    }

    func recordUnavailable() { unavailable.increment() }

    /// Counts an outcome; `latencySeconds` is nil when the clocks disagree (commit before publish).
    func record(_ outcome: PurchaseOutcome, strategy: StrategyName, latencySeconds: Double?) {
        let counter = purchases.withLock { counters -> Counter? in
            if let counter = counters[strategy]?[outcome] { return counter }
            let added = Self.outcomeCounters(of: strategy, in: registry)
            counters[strategy] = added
            return added[outcome]
        }
        counter?.increment()
        if let latencySeconds { latency.record(latencySeconds) }
    }

    /// The Prometheus text exposition (version 0.0.4) of every metric, after setting the scrape-time gauges.
    /// - Parameters:
    ///   - pending: the ledger's purchases of this server awaiting an outcome.
    ///   - unknown: the ledger's purchases of this server whose fate is unknown.
    ///   - queueDepth: ready messages in the purchase queue; nil when RabbitMQ did not answer, and then
    ///     `racelab_queue_depth` is left out and `racelab_broker_up` is 0.
    func exposition(pending: Int, unknown: Int, queueDepth depth: Int?) -> [UInt8] {
        queueDepth.withLock { gauge in
            self.pending.set(Int64(pending))
            self.unknown.set(Int64(unknown))
            brokerUp.set(depth == nil ? Int64(0) : 1)
            if let depth {
                let current = gauge ?? registry.makeGauge(descriptor: Self.queueDepthName)
                current.set(Int64(depth))
                gauge = current
            } else if let current = gauge {
                registry.unregisterGauge(current)
                gauge = nil
            }
            var text: [UInt8] = []
            registry.emit(into: &text)
            return text
        }
    }

    private static var queueDepthName: MetricNameDescriptor { name("queue_depth", help: "Ready messages in racelab.purchases.") }

    /// `racelab_<metric>_<unit>`.
    private static func name(_ metric: String, _ unit: String = "", help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "racelab", metricName: metric, unitName: unit, helpText: help)
    }

    private static func outcomeCounters(of strategy: StrategyName, in registry: PrometheusCollectorRegistry) -> [PurchaseOutcome: Counter] {
        let name = name("purchases", "total", help: "Purchase outcomes seen by this server, by strategy and outcome.")
        return Dictionary(
            uniqueKeysWithValues: PurchaseOutcome.allCases.map { outcome in
                (outcome, registry.makeCounter(descriptor: name, labels: [("strategy", strategy.rawValue), ("outcome", outcome.rawValue)]))
            }
        )
    }
}
