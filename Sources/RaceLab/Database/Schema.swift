import Postgres

/// The lab's tables, created on first use by whoever gets there first.
///
/// `orders.request_id` is unique: a redelivered request can never buy twice. There is deliberately no
/// foreign key from orders to items: its `FOR KEY SHARE` lock would queue behind every `FOR UPDATE`
/// on the hot row and blur what each strategy costs.
public enum Schema {
    static let ddl = """
        CREATE TABLE IF NOT EXISTS items (
            id            bigint  PRIMARY KEY,
            stock         integer NOT NULL,
            initial_stock integer NOT NULL,
            version       bigint  NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS orders (
            id         bigserial   PRIMARY KEY,
            request_id uuid        NOT NULL UNIQUE,
            run_id     uuid        NOT NULL,
            item_id    bigint      NOT NULL,
            buyer_id   bigint      NOT NULL,
            quantity   integer     NOT NULL,
            strategy   text        NOT NULL,
            created_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS orders_run_id ON orders (run_id);
        """

    /// Creates the tables if they are missing. Safe to call from many processes at once: it holds a
    /// session advisory lock while it works (concurrent `CREATE TABLE IF NOT EXISTS` can otherwise collide).
    public static func ensure(on db: PostgresConnection) throws {
        try db.execute("SELECT pg_advisory_lock(7262111)")
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(7262111)") }
        try db.execute(ddl)
    }

    /// Empties the orders and sets items `1...items` to `stock` each, version 0; every other item is removed.
    public static func reset(items: Int, stock: Int, on db: PostgresConnection) throws {
        try db.transaction {
            try db.execute("TRUNCATE orders")
            try db.execute("DELETE FROM items")
            try db.query(
                "INSERT INTO items (id, stock, initial_stock, version) SELECT g, $2, $2, 0 FROM generate_series(1, $1::bigint) AS g",
                [String(items), String(stock)]
            )
        }
    }
}
