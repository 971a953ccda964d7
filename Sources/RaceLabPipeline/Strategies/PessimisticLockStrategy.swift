import Postgres
import RaceLabCore

/// Lock the row, then check and write: `SELECT … FOR UPDATE` makes every other buyer of the item
/// wait until this transaction ends, so the stock read is the stock written against.
///
/// ```sql
/// BEGIN;                                                   -- round trip 1 (pipelined)
/// SELECT stock FROM items WHERE id = $1 FOR UPDATE;
/// -- think; if stock < quantity: ROLLBACK (sold out)
/// UPDATE items SET stock = stock - $2, version = version + 1 WHERE id = $1;   -- round trip 2 (pipelined)
/// INSERT INTO orders (...) VALUES (...);
/// COMMIT;
/// ```
///
/// Two round trips instead of five: the row lock is held from the `SELECT` to the `COMMIT`, so each
/// round trip saved while holding it is time every other buyer of the item no longer waits.
public struct PessimisticLockStrategy: PurchaseStrategy {
    public var name: StrategyName { .pessimistic }
    public var summary: String { "BEGIN; SELECT … FOR UPDATE; think; UPDATE stock − q; INSERT the order; COMMIT" }
    public var tradeoff: String { "buyers queue on the row lock, held through the think time" }
    public var traits: StrategyTraits { StrategyTraits() }

    static let lock = PreparedStatement(name: "pessimistic_lock", sql: "SELECT stock FROM items WHERE id = $1 FOR UPDATE")
    static let write = PreparedStatement(
        name: "pessimistic_write",
        sql: "UPDATE items SET stock = stock - $2, version = version + 1 WHERE id = $1"
    )

    public init() {}

    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        try Self.lockThenWrite(request, lock: Self.lock, isolation: isolation, on: db)
    }

    /// Lock the row with `lock` (which returns the stock), check, think, write, commit: shared with
    /// ``NoWaitStrategy``, whose lock does not wait.
    static func lockThenWrite(
        _ request: PurchaseRequest,
        lock: PreparedStatement,
        isolation: IsolationLevel,
        on db: PostgresConnection
    ) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        return try db.transaction(isolation: isolation, opening: [.init(lock, [item])]) { opened in
            guard let stock = opened[0].int(0, 0) else { return .rollback(.noSuchItem) }
            // Sold out: the transaction ends with a ROLLBACK of nothing, releasing the lock.
            guard stock >= request.quantity else { return .rollback(.soldOut) }
            think(request, on: db)
            return .commit(.purchased, writes: [.init(write, [item, String(request.quantity)]), OrderSQL.insertStep(request)])
        }
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        PgbenchScript.lockThenWrite(context, strategy: name, lock: "FOR UPDATE")
    }
}
