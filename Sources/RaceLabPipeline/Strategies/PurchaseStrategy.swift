import Foundation
import Postgres
import RaceLabCore

/// One way of turning a purchase request into an order without (or with) overselling.
///
/// Implementations run on a worker thread with that thread's own connection, and block. They return
/// the outcome as data; they throw only `PostgresError`, and the caller (`PurchaseExecutor`) decides
/// from its SQLSTATE whether the attempt is retried, already done, or failed.
///
/// What a strategy needs from the pipeline beyond "one request at a time on a shared queue" — a batch,
/// a queue of its own per item, its own way of keeping stock — it declares in ``traits``; the worker
/// and the harness serve the declaration and never name a concrete strategy.
public protocol PurchaseStrategy: Sendable {
    /// The name requests use to ask for this strategy.
    var name: StrategyName { get }

    /// One line on what it does, for `racelab strategies` and the dashboard.
    var summary: String { get }

    /// What goes wrong with it, or what it costs, in a few words.
    var tradeoff: String { get }

    /// What it needs from the pipeline and the database.
    var traits: StrategyTraits { get }

    /// Tries once to buy `request.quantity` units of `request.itemId`, in transactions at `isolation`.
    ///
    /// - Returns: `.purchased`, `.soldOut`, `.noSuchItem`, or `.conflict` when a concurrent buyer won
    ///   the race and the attempt may be repeated.
    func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt

    /// Tries once to settle several ready requests for one item together (only called when
    /// `traits.batches`); the attempts come back in the requests' order. A request whose
    /// `redelivered` is true may have bought already and must then count as `.purchased`.
    func attempt(batch: [BatchEntry], isolation: IsolationLevel, on db: PostgresConnection) throws -> [PurchaseAttempt]

    /// The statements `racelab bench` gives pgbench to compare against: this strategy's own SQL, in the
    /// same round trips. nil when pgbench cannot run it.
    func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript?
}

extension PurchaseStrategy {
    public func attempt(batch: [BatchEntry], isolation: IsolationLevel, on db: PostgresConnection) throws -> [PurchaseAttempt] {
        try batch.map { try attempt($0.request, isolation: isolation, on: db) }
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? { nil }
}

/// One request of a batch, and whether the broker flagged it as delivered before.
public struct BatchEntry: Sendable {
    public var request: PurchaseRequest
    public var redelivered: Bool

    public init(request: PurchaseRequest, redelivered: Bool) {
        self.request = request
        self.redelivered = redelivered
    }
}

/// The result of one attempt of a strategy.
public enum PurchaseAttempt: Sendable, Equatable {
    case purchased
    case soldOut
    /// Someone else changed the row first (optimistic version mismatch, a `NOWAIT` lock held); try again.
    case conflict
    /// The item is not in the items table; nothing was touched.
    case noSuchItem
}

/// SQL every strategy shares: writing the order row, and asking whether an item exists.
enum OrderSQL {
    static let insert = PreparedStatement(
        name: "insert_order",
        sql: "INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) VALUES ($1, $2, $3, $4, $5, $6)"
    )

    /// Whether this request already bought: asked before serving a redelivered request, whose first
    /// delivery may have committed just before its worker died.
    static let exists = PreparedStatement(name: "order_exists", sql: "SELECT 1 FROM orders WHERE request_id = $1")

    /// Whether this request bought, waiting for any copy of it still in flight (see ``Schema``):
    /// asked before any request is answered "not bought", since another copy of the same request (a
    /// client's retry, a duplicate publish) may own its order.
    static let bought = PreparedStatement(name: "request_bought", sql: "SELECT racelab_request_bought($1)")

    /// The same for many requests at once (a batch's turned-away ones): the ids among `$1` that bought.
    static let boughtAmong = PreparedStatement(
        name: "requests_bought",
        sql: "SELECT r FROM unnest($1::uuid[]) AS r WHERE racelab_request_bought(r)"
    )

    /// Whether an item exists: asked by strategies whose buying statement cannot tell "no such item"
    /// from "not enough stock" (only on the turned-away path).
    static let itemExists = PreparedStatement(name: "item_exists", sql: "SELECT 1 FROM items WHERE id = $1")

    static func insertStep(_ request: PurchaseRequest) -> PostgresConnection.Step {
        .init(insert, insertParameters(request))
    }

    static func insertParameters(_ request: PurchaseRequest) -> [String?] {
        [
            request.requestId.uuidString, request.runId.uuidString, String(request.itemId), String(request.buyerId),
            String(request.quantity), request.strategy.rawValue,
        ]
    }

    /// `.soldOut` when the item exists, `.noSuchItem` when it does not.
    static func turnedAway(_ request: PurchaseRequest, on db: PostgresConnection) throws -> PurchaseAttempt {
        try db.execute(itemExists, [String(request.itemId)]).rows.isEmpty ? .noSuchItem : .soldOut
    }
}
