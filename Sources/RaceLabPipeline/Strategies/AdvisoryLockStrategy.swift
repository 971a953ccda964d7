import Postgres
import RaceLabCore

/// Serialise buyers of an item on an advisory lock keyed by the item id, held until the transaction
/// ends, around the same read-modify-write the naive strategy does. The lock lives outside the row:
/// correct only because every writer of the item takes it.
///
/// ```sql
/// BEGIN;                                   -- round trip 1 (pipelined)
/// SELECT pg_advisory_xact_lock($1);
/// SELECT stock FROM items WHERE id = $1;
/// -- think; if stock < quantity: ROLLBACK (sold out)
/// UPDATE items SET stock = $2, version = version + 1 WHERE id = $1;   -- round trip 2; $2 = stock read − quantity
/// INSERT INTO orders (...) VALUES (...);
/// COMMIT;
/// ```
public struct AdvisoryLockStrategy: PurchaseStrategy {
    public var name: StrategyName { .advisory }
    public var summary: String { "BEGIN; pg_advisory_xact_lock(item); read; think; write stock − q and the order; COMMIT" }
    public var tradeoff: String { "a lock outside the row: correct only if every writer takes it" }
    public var traits: StrategyTraits { StrategyTraits() }

    static let lock = PreparedStatement(name: "advisory_lock", sql: "SELECT pg_advisory_xact_lock($1::bigint)")
    static let read = PreparedStatement(name: "advisory_read", sql: "SELECT stock FROM items WHERE id = $1")
    static let write = PreparedStatement(
        name: "advisory_write",
        sql: "UPDATE items SET stock = $2, version = version + 1 WHERE id = $1"
    )

    public init() {}

    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        return try db.transaction(isolation: isolation, opening: [.init(Self.lock, [item]), .init(Self.read, [item])]) { opened in
            guard let stock = opened[1].int(0, 0) else { return .rollback(.noSuchItem) }
            guard stock >= request.quantity else { return .rollback(.soldOut) }
            think(request, on: db)
            return .commit(.purchased, writes: [.init(Self.write, [item, String(stock - request.quantity)]), OrderSQL.insertStep(request)])
        }
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        var script = PgbenchScript.lockThenWrite(
            context,
            strategy: name,
            lock: nil,
            opening: ["SELECT pg_advisory_xact_lock(\(context.item));", "SELECT stock FROM items WHERE id = \(context.item);"]
        )
        script.note = "pgbench cannot use a value read inside a pipeline, so its UPDATE writes stock - q instead of the value read - q"
        return script
    }
}
