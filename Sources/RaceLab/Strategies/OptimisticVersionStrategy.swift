import Postgres

/// Read without locking, write only if nobody wrote in between: the `version` column is the witness.
/// When the guarded `UPDATE` touches no row, a concurrent buyer won; the executor retries with a
/// jittered backoff, up to a bound, then gives up.
///
/// ```sql
/// SELECT stock, version FROM items WHERE id = $1;
/// -- think; if stock < quantity: sold out
/// WITH bought AS (                 -- one statement, so one round trip and its own transaction
///     UPDATE items SET stock = stock - $3, version = version + 1 WHERE id = $1 AND version = $2
///     RETURNING id)
/// INSERT INTO orders (...) SELECT ... FROM bought;
/// -- 0 rows: the version moved, conflict
/// ```
public struct OptimisticVersionStrategy: PurchaseStrategy {
    public var name: StrategyName { .optimistic }

    static let read = PreparedStatement(name: "optimistic_read", sql: "SELECT stock, version FROM items WHERE id = $1")
    static let write = PreparedStatement(
        name: "optimistic_write",
        sql: """
            WITH bought AS (
                UPDATE items SET stock = stock - $3, version = version + 1 WHERE id = $1 AND version = $2 RETURNING id
            )
            INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy)
            SELECT $4, $5, id, $6, $3, $7 FROM bought
            """
    )

    public init() {}

    public func attempt(_ request: PurchaseRequest, on db: PostgresConnection) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        let row = try db.execute(Self.read, [item])
        guard let stock = row.int(0, 0), let version = row.int(0, 1) else { return .noSuchItem }
        guard stock >= request.quantity else { return .soldOut }
        think(request)
        let bought = try db.execute(
            Self.write,
            [
                item, String(version), String(request.quantity), request.requestId.uuidString, request.runId.uuidString,
                String(request.buyerId), request.strategy.rawValue,
            ]
        )
        return bought.affectedRows == 1 ? .purchased : .conflict
    }
}
