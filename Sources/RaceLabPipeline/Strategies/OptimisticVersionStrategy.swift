import Postgres
import RaceLabCore

/// Read without locking, write only if nobody wrote in between: the `version` column is the witness.
/// When the guarded `UPDATE` touches no row, a concurrent buyer won; the executor retries with a
/// jittered backoff, up to a bound, then gives up.
///
/// ```sql
/// SELECT stock, version FROM items WHERE id = $1;                       -- round trip 1
/// -- think; if stock < quantity: sold out
/// WITH bought AS (                 -- round trip 2: one statement, so its own transaction
///     UPDATE items SET stock = stock - $3, version = version + 1 WHERE id = $1 AND version = $2
///     RETURNING id)
/// INSERT INTO orders (...) SELECT ... FROM bought;
/// -- 0 rows: the version moved, conflict
/// ```
///
/// At repeatable read or serializable the read and the write share one transaction
/// (`BEGIN ISOLATION LEVEL …` with the `SELECT`, `COMMIT` with the write); a concurrent write then
/// aborts it with 40001 before the version check could, and it is retried the same way.
public struct OptimisticVersionStrategy: PurchaseStrategy {
    public var name: StrategyName { .optimistic }
    public var summary: String { "read stock and version, think, UPDATE … WHERE version = v with the order; 0 rows: retry" }
    public var tradeoff: String { "retries and conflicts; buyers who keep losing give up" }
    public var traits: StrategyTraits { StrategyTraits() }

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

    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        func writeStep(_ version: Int) -> PostgresConnection.Step {
            .init(
                Self.write,
                [
                    item, String(version), String(request.quantity), request.requestId.uuidString, request.runId.uuidString,
                    String(request.buyerId), request.strategy.rawValue,
                ]
            )
        }
        guard isolation == .readCommitted else {
            return try db.transaction(isolation: isolation, opening: [.init(Self.read, [item])]) { opened in
                guard let stock = opened[0].int(0, 0), let version = opened[0].int(0, 1) else { return .rollback(.noSuchItem) }
                guard stock >= request.quantity else { return .rollback(.soldOut) }
                think(request, on: db)
                // A version that moved leaves the transaction with nothing written: committing it is harmless.
                return .commitChecking(writes: [writeStep(version)]) { $0[0].affectedRows == 1 ? .purchased : .conflict }
            }
        }
        let row = try db.execute(Self.read, [item])
        guard let stock = row.int(0, 0), let version = row.int(0, 1) else { return .noSuchItem }
        guard stock >= request.quantity else { return .soldOut }
        think(request, on: db)
        let bought = try db.execute(writeStep(version).statement, writeStep(version).parameters)
        return bought.affectedRows == 1 ? .purchased : .conflict
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        let q = context.quantity
        return PgbenchScript(
            text: """
                \\set buyer random(1, 1000000000)
                SELECT stock, version FROM items WHERE id = \(context.item) \\gset
                WITH bought AS (
                    UPDATE items SET stock = stock - \(q), version = version + 1 WHERE id = \(context.item) AND version = :version RETURNING id
                ) INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) \
                SELECT gen_random_uuid(), '\(context.runId.uuidString)', id, :buyer, \(q), '\(name.rawValue)' FROM bought;

                """,
            note: "pgbench counts a transaction whose version moved (nothing bought) like any other; the pipeline retries it"
        )
    }
}
