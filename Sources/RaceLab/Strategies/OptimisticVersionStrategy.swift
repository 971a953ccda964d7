import Postgres

/// Read without locking, write only if nobody wrote in between: the `version` column is the witness.
/// When the guarded `UPDATE` touches no row, a concurrent buyer won; the executor retries with a
/// jittered backoff, up to a bound, then gives up.
///
/// ```sql
/// SELECT stock, version FROM items WHERE id = $1;
/// -- think; if stock < quantity: sold out
/// BEGIN;
/// UPDATE items SET stock = stock - $3, version = version + 1 WHERE id = $1 AND version = $2;
/// -- 0 rows: ROLLBACK, conflict
/// INSERT INTO orders (...) VALUES (...);
/// COMMIT;
/// ```
public struct OptimisticVersionStrategy: PurchaseStrategy {
    public var name: StrategyName { .optimistic }

    static let read = PreparedStatement(name: "optimistic_read", sql: "SELECT stock, version FROM items WHERE id = $1")
    static let write = PreparedStatement(
        name: "optimistic_write",
        sql: "UPDATE items SET stock = stock - $3, version = version + 1 WHERE id = $1 AND version = $2"
    )

    public init() {}

    public func attempt(_ request: PurchaseRequest, on db: PostgresConnection) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        let row = try db.execute(Self.read, [item])
        guard let stock = row.int(0, 0), let version = row.int(0, 1) else { return .noSuchItem }
        guard stock >= request.quantity else { return .soldOut }
        think(request)
        return try db.transaction {
            let updated = try db.execute(Self.write, [item, String(version), String(request.quantity)])
            guard updated.affectedRows == 1 else { return .conflict }
            try db.execute(OrderSQL.insert, OrderSQL.insertParameters(request))
            return .purchased
        }
    }
}
