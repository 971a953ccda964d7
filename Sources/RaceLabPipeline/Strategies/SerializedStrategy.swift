import Postgres
import RaceLabCore

/// RabbitMQ does the concurrency control: requests go to one of the shard queues by item
/// (`racelab.purchases.shard.<item mod shards>`), each declared with `x-single-active-consumer`, so
/// one consumer in the whole cluster serves an item at a time and the database write can be the
/// naive read-then-write with no lock.
///
/// ```sql
/// SELECT stock FROM items WHERE id = $1;          -- the naive strategy's SQL, run by the one consumer
/// -- think; if stock < quantity: sold out         -- that serves this item's shard
/// UPDATE items SET stock = $2 WHERE id = $1;
/// INSERT INTO orders (...) VALUES (...);
/// ```
///
/// The broker only says who may *receive*; a consumer killed after sending its `COMMIT` may still have
/// a transaction running in the server when the broker hands the shard to the next consumer. So a
/// consumer that becomes active for a shard fences the one before it first, once: it ends any other
/// session still holding the shard's session advisory lock (`pg_terminate_backend`, waiting until it
/// is gone) and takes that lock for as long as its session lives. Purchases themselves take no lock.
public struct SerializedStrategy: PurchaseStrategy {
    public var name: StrategyName { .serialized }
    public var summary: String { "shard queues by item with a single active consumer each; the naive SQL with no lock" }
    public var tradeoff: String { "one consumer per item at a time: the queue is the lock, and failover must fence the old one" }
    public var traits: StrategyTraits { StrategyTraits(delivery: .serializedByItem) }

    public init() {}

    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        try NaiveStrategy.readThenWrite(request, isolation: isolation, on: db)
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        var script = PgbenchScript.readThenWrite(context, strategy: name)
        script.clients = .one
        script.note = "one session: the single active consumer of the item's shard"
        return script
    }
}
