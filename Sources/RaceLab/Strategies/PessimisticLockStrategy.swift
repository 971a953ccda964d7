import Postgres

/// Lock the row, then check and write: `SELECT … FOR UPDATE` makes every other buyer of the item
/// wait until this transaction ends, so the stock read is the stock written against.
///
/// ```sql
/// BEGIN;
/// SELECT stock FROM items WHERE id = $1 FOR UPDATE;
/// -- think; if stock < quantity: ROLLBACK (sold out)
/// UPDATE items SET stock = stock - $2, version = version + 1 WHERE id = $1;
/// INSERT INTO orders (...) VALUES (...);
/// COMMIT;
/// ```
public struct PessimisticLockStrategy: PurchaseStrategy {
    public var name: StrategyName { .pessimistic }

    static let lock = PreparedStatement(name: "pessimistic_lock", sql: "SELECT stock FROM items WHERE id = $1 FOR UPDATE")
    static let write = PreparedStatement(
        name: "pessimistic_write",
        sql: "UPDATE items SET stock = stock - $2, version = version + 1 WHERE id = $1"
    )

    public init() {}

    public func attempt(_ request: PurchaseRequest, on db: PostgresConnection) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        return try db.transaction {
            guard let stock = try db.execute(Self.lock, [item]).int(0, 0) else { return .noSuchItem }
            // Sold out: the transaction ends with a COMMIT of nothing, releasing the lock.
            guard stock >= request.quantity else { return .soldOut }
            think(request)
            try db.execute(Self.write, [item, String(request.quantity)])
            try db.execute(OrderSQL.insert, OrderSQL.insertParameters(request))
            return .purchased
        }
    }
}
