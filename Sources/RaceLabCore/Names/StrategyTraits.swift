import Postgres

/// What a strategy needs from the pipeline and the database, declared once and served by the worker,
/// the harness and the invariant checker.
public struct StrategyTraits: Sendable, Equatable {
    /// How requests reach the workers.
    public enum Delivery: String, Sendable, Equatable, Codable, CaseIterable {
        /// `racelab.purchases`: any consumer serves any request.
        case shared
        /// One of the shard queues, chosen by item (`item mod shards`), each with a single active
        /// consumer: at most one consumer in the whole cluster serves an item at a time.
        case serializedByItem = "serialized-by-item"
    }

    /// Where a strategy keeps the stock, and so where the remaining stock is read.
    public enum Stock: String, Sendable, Equatable, Codable, CaseIterable {
        /// `items.stock`.
        case itemRow = "item-row"
        /// One row per unit in `item_units`; a unit is free while its `request_id` is null.
        case unitRows = "unit-rows"
    }

    /// What a run of the strategy should show, for notes and the demo (never for the invariants,
    /// which are checked the same way for every strategy).
    public enum Expectation: String, Sendable, Equatable, Codable, CaseIterable {
        /// Never sells more than the stock.
        case exact
        /// Oversells under contention: meant to.
        case oversells
        /// Not known in advance (a strategy a user wrote).
        case unknown
    }

    public var delivery: Delivery
    public var stock: Stock
    public var expectation: Expectation
    /// Settles ready requests for one item together (``PurchaseStrategy/attempt(batch:isolation:on:)``).
    public var batches: Bool
    /// The isolation level when the request names none.
    public var defaultIsolation: IsolationLevel

    public init(
        delivery: Delivery = .shared,
        stock: Stock = .itemRow,
        expectation: Expectation = .exact,
        batches: Bool = false,
        defaultIsolation: IsolationLevel = .readCommitted
    ) {
        self.delivery = delivery
        self.stock = stock
        self.expectation = expectation
        self.batches = batches
        self.defaultIsolation = defaultIsolation
    }
}
