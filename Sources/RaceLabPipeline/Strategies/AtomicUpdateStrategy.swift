import Postgres
import RaceLabCore

/// The check and the write in one statement: the `UPDATE` only touches the row while the stock
/// covers the quantity, and the order is inserted from what it returned — one round trip, no read
/// before it, no lock held across a round trip.
///
/// ```sql
/// WITH bought AS (                 -- one statement, one round trip, its own transaction
///     UPDATE items SET stock = stock - $2, version = version + 1
///     WHERE id = $1 AND stock >= $2
///     RETURNING id)
/// INSERT INTO orders (...) SELECT ... FROM bought;
/// -- 0 rows: sold out (or no such item: SELECT 1 FROM items WHERE id = $1, on that path only)
/// ```
///
/// Concurrent buyers still queue on the row lock the `UPDATE` takes, but only for the statement and
/// its commit; at read committed a waiter re-checks `stock >= $2` on the row as the winner left it, so
/// it can never oversell. There is no read to think after: the think time comes first, outside the
/// transaction (the payment before the purchase).
public struct AtomicUpdateStrategy: PurchaseStrategy {
    public var name: StrategyName { .atomic }
    public var summary: String { "think first; then UPDATE … WHERE stock >= q and INSERT the order in one statement" }
    public var tradeoff: String { "nothing to read, so no window; the lock is held for one statement and its commit" }
    public var traits: StrategyTraits { StrategyTraits() }

    static let buy = PreparedStatement(
        name: "atomic_buy",
        sql: """
            WITH bought AS (
                UPDATE items SET stock = stock - $2, version = version + 1 WHERE id = $1 AND stock >= $2 RETURNING id
            )
            INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy)
            SELECT $3, $4, id, $5, $2, $6 FROM bought
            """
    )

    public init() {}

    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        think(request, on: db)
        let step = PostgresConnection.Step(
            Self.buy,
            [
                String(request.itemId), String(request.quantity), request.requestId.uuidString, request.runId.uuidString,
                String(request.buyerId), request.strategy.rawValue,
            ]
        )
        let bought = try db.transaction(isolation: isolation, committing: [step])
        return bought[0].affectedRows == 1 ? .purchased : try OrderSQL.turnedAway(request, on: db)
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        let q = context.quantity
        return PgbenchScript(
            text: """
                \\set buyer random(1, 1000000000)
                WITH bought AS (
                    UPDATE items SET stock = stock - \(q), version = version + 1 WHERE id = \(context.item) AND stock >= \(q) RETURNING id
                ) INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) \
                SELECT gen_random_uuid(), '\(context.runId.uuidString)', id, :buyer, \(q), '\(name.rawValue)' FROM bought;

                """
        )
    }
}
