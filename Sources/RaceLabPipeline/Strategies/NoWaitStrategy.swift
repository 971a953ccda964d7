import Postgres
import RaceLabCore

/// Lock the row without waiting: `SELECT … FOR UPDATE NOWAIT` fails at once with SQLSTATE 55P03 when
/// another buyer holds the lock. That is a conflict: the executor retries it with a jittered backoff,
/// up to its budget, and then the buyer gives up.
///
/// ```sql
/// BEGIN;                                                   -- round trip 1 (pipelined)
/// SELECT stock FROM items WHERE id = $1 FOR UPDATE NOWAIT; -- 55P03: ROLLBACK, back off, try again
/// -- think; if stock < quantity: ROLLBACK (sold out)
/// UPDATE items SET stock = stock - $2, version = version + 1 WHERE id = $1;   -- round trip 2 (pipelined)
/// INSERT INTO orders (...) VALUES (...);
/// COMMIT;
/// ```
///
/// No buyer ever sleeps in a lock queue inside the server, but each one that finds the lock taken pays a
/// round trip and a backoff, and one that keeps losing gives up — possibly while stock is left
/// (*undersold*).
public struct NoWaitStrategy: PurchaseStrategy {
    public var name: StrategyName { .nowait }
    public var summary: String { "SELECT … FOR UPDATE NOWAIT; a held lock (55P03) is retried with backoff, then given up" }
    public var tradeoff: String { "no lock queue, but retries; buyers who keep losing give up" }
    public var traits: StrategyTraits { StrategyTraits() }

    static let lock = PreparedStatement(name: "nowait_lock", sql: "SELECT stock FROM items WHERE id = $1 FOR UPDATE NOWAIT")

    public init() {}

    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        try PessimisticLockStrategy.lockThenWrite(request, lock: Self.lock, isolation: isolation, on: db)
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        // pgbench ends a client at its first error other than 40001/40P01, so it cannot run NOWAIT
        // against a contended row: it runs the same statements with a waiting lock instead.
        var script = PgbenchScript.lockThenWrite(context, strategy: name, lock: "FOR UPDATE")
        script.note = "pgbench stops a client at its first 55P03, so it runs this transaction with FOR UPDATE (waiting)"
        return script
    }
}
