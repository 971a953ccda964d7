import Postgres
import RaceLabCore

/// Check stock, then write — with no lock. Two buyers who read the same stock both write `stock − 1`:
/// a lost update, and both get an order. This is the race the lab exists to show.
///
/// ```sql
/// SELECT stock FROM items WHERE id = $1;          -- round trip 1
/// -- think; if stock < quantity: sold out
/// UPDATE items SET stock = $2 WHERE id = $1;      -- round trip 2 (pipelined), one implicit transaction;
/// INSERT INTO orders (...) VALUES (...);          -- $2 = the stock read above − quantity
/// ```
///
/// At repeatable read or serializable the read and the writes share one transaction
/// (`BEGIN ISOLATION LEVEL …` pipelined with the `SELECT`, `COMMIT` with the writes), so the server
/// sees the read-modify-write and aborts the second writer with SQLSTATE 40001 instead of letting it
/// overwrite: the retried buyer then reads the new stock. Same two round trips.
public struct NaiveStrategy: PurchaseStrategy {
    public var name: StrategyName { .naive }
    public var summary: String { "read the stock, think, write stock − q and the order; no lock" }
    public var tradeoff: String { "lost updates: oversells (unless the isolation level catches them)" }
    public var traits: StrategyTraits { StrategyTraits(expectation: .oversells) }

    static let read = PreparedStatement(name: "naive_read", sql: "SELECT stock FROM items WHERE id = $1")
    static let write = PreparedStatement(name: "naive_write", sql: "UPDATE items SET stock = $2 WHERE id = $1")

    public init() {}

    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        try Self.readThenWrite(request, isolation: isolation, on: db)
    }

    /// The naive read-modify-write, shared with strategies that make it safe by other means
    /// (``SerializedStrategy``: the broker lets one consumer serve an item at a time).
    static func readThenWrite(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        let item = String(request.itemId)
        func writes(_ stock: Int) -> [PostgresConnection.Step] {
            [.init(write, [item, String(stock - request.quantity)]), OrderSQL.insertStep(request)]
        }
        guard isolation == .readCommitted else {
            return try db.transaction(isolation: isolation, opening: [.init(read, [item])]) { opened in
                guard let stock = opened[0].int(0, 0) else { return .rollback(.noSuchItem) }
                guard stock >= request.quantity else { return .rollback(.soldOut) }
                think(request, on: db)
                return .commit(.purchased, writes: writes(stock))
            }
        }
        guard let stock = try db.execute(read, [item]).int(0, 0) else { return .noSuchItem }
        guard stock >= request.quantity else { return .soldOut }
        think(request, on: db)
        try db.transaction(committing: writes(stock))
        return .purchased
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        PgbenchScript.readThenWrite(context, strategy: name)
    }
}
