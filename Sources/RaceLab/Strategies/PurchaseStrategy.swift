import Foundation
import Postgres

/// One way of turning a purchase request into an order without (or with) overselling.
///
/// Implementations run on a worker thread with that thread's own connection, and block. They return
/// the outcome as data; they throw only `PostgresError`, and the caller (`PurchaseExecutor`) decides
/// from its SQLSTATE whether the attempt is retried, already done, or failed.
public protocol PurchaseStrategy: Sendable {
    /// The name requests use to ask for this strategy.
    var name: StrategyName { get }

    /// Tries once to buy `request.quantity` units of `request.itemId`.
    ///
    /// - Returns: `.purchased`, `.soldOut`, `.noSuchItem`, or `.conflict` when a concurrent buyer won
    ///   the race and the attempt may be repeated.
    func attempt(_ request: PurchaseRequest, on db: PostgresConnection) throws -> PurchaseAttempt
}

/// The result of one attempt of a strategy.
public enum PurchaseAttempt: Sendable, Equatable {
    case purchased
    case soldOut
    /// Someone else changed the row first (optimistic version mismatch); try again.
    case conflict
    /// The item is not in the items table; nothing was touched.
    case noSuchItem
}

/// SQL every strategy shares: writing the order row.
enum OrderSQL {
    static let insert = PreparedStatement(
        name: "insert_order",
        sql: "INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) VALUES ($1, $2, $3, $4, $5, $6)"
    )

    /// Whether this request already bought: asked before serving a redelivered request, whose first
    /// delivery may have committed just before its worker died.
    static let exists = PreparedStatement(name: "order_exists", sql: "SELECT 1 FROM orders WHERE request_id = $1")

    static func insertStep(_ request: PurchaseRequest) -> PostgresConnection.Step {
        .init(insert, insertParameters(request))
    }

    static func insertParameters(_ request: PurchaseRequest) -> [String?] {
        [
            request.requestId.uuidString, request.runId.uuidString, String(request.itemId), String(request.buyerId),
            String(request.quantity), request.strategy.rawValue,
        ]
    }
}

/// Holds the worker thread for the request's think time: the window between read and write.
func think(_ request: PurchaseRequest) {
    if request.thinkMs > 0 { usleep(UInt32(min(request.thinkMs, 60_000)) * 1000) }
}
