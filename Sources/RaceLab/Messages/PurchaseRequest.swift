import Foundation

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

    public init(
        requestId: UUID = UUID(),
        runId: UUID,
        itemId: Int64,
        buyerId: Int64,
        quantity: Int = 1,
        strategy: StrategyName,
        thinkMs: Int = 0,
        publishedAt: UInt64 = 0,
        gated: Bool = false
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
    }
}
