import Foundation
import Postgres

/// One buyer's attempt to buy, as it travels on `racelab.purchases`.
public struct PurchaseRequest: Codable, Sendable, Equatable {
    /// Unique per request; orders are keyed on it, so a redelivered request never buys twice.
    public var requestId: UUID
    /// The stampede this request belongs to; outcomes are routed back by it.
    public var runId: UUID
    public var itemId: Int64
    public var buyerId: Int64
    public var quantity: Int
    public var strategy: StrategyName
    /// How long the strategy holds between its read and its write, like a payment call would.
    public var thinkMs: Int
    /// When the request was published, nanoseconds since the Unix epoch.
    public var publishedAt: UInt64
    /// When true, a worker holds the request until the run's gate opens (see `GateSignal`).
    public var gated: Bool
    /// The isolation level the strategy's transactions run at; nil: the strategy's default (read committed
    /// for the built-ins).
    public var isolation: IsolationLevel?
    /// For a strategy written as a file: the version of its definition in the registry, so the worker runs
    /// exactly what the harness registered. nil for the built-ins (and: the latest registered).
    public var strategyVersion: String?
    /// When true, the worker records every attempt step by step and sends the steps with the outcome
    /// (`racelab run --trace`). Absent from the JSON when false.
    public var trace: Bool {
        get { tracing ?? false }
        set { tracing = newValue ? true : nil }
    }
    private var tracing: Bool?

    private enum CodingKeys: String, CodingKey {
        case requestId, runId, itemId, buyerId, quantity, strategy, thinkMs, publishedAt, gated, isolation, strategyVersion
        case tracing = "trace"
    }

    public init(
        requestId: UUID = UUID(),
        runId: UUID,
        itemId: Int64,
        buyerId: Int64,
        quantity: Int = 1,
        strategy: StrategyName,
        thinkMs: Int = 0,
        publishedAt: UInt64 = 0,
        gated: Bool = false,
        isolation: IsolationLevel? = nil,
        strategyVersion: String? = nil,
        trace: Bool = false
    ) {
        self.requestId = requestId
        self.runId = runId
        self.itemId = itemId
        self.buyerId = buyerId
        self.quantity = quantity
        self.strategy = strategy
        self.thinkMs = thinkMs
        self.publishedAt = publishedAt
        self.gated = gated
        self.isolation = isolation
        self.strategyVersion = strategyVersion
        self.tracing = trace ? true : nil
    }
}
