import Postgres

/// Check stock, then write — with no lock. Two buyers who read the same stock both write `stock − 1`:
/// a lost update, and both get an order. This is the race the lab exists to show.
///
/// ```sql
/// SELECT stock FROM items WHERE id = $1;
/// -- think
/// UPDATE items SET stock = $2 WHERE id = $1;      -- one round trip (pipelined), one implicit transaction;
/// INSERT INTO orders (...) VALUES (...);          -- $2 = the stock read above − quantity
/// ```
public struct NaiveStrategy: PurchaseStrategy {
    public var name: StrategyName { .naive }

    static let read = PreparedStatement(name: "naive_read", sql: "SELECT stock FROM items WHERE id = $1")
    static let write = PreparedStatement(name: "naive_write", sql: "UPDATE items SET stock = $2 WHERE id = $1")

    public init() {}

    public func attempt(_ request: PurchaseRequest, on db: PostgresConnection) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        guard let stock = try db.execute(Self.read, [item]).int(0, 0) else { return .noSuchItem }
        guard stock >= request.quantity else { return .soldOut }
        think(request)
        try db.transaction(committing: [.init(Self.write, [item, String(stock - request.quantity)]), OrderSQL.insertStep(request)])
        return .purchased
    }
}
