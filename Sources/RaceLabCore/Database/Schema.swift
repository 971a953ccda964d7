import Foundation
import Postgres

/// The lab's tables, created on first use by whoever gets there first.
///
/// `orders.request_id` is unique: a redelivered request can never buy twice. There is deliberately no
/// foreign key from orders to items: its `FOR KEY SHARE` lock would queue behind every `FOR UPDATE`
/// on the hot row and blur what each strategy costs.
///
/// Two guards live in the database, so they hold for every strategy, built in or written in a file:
/// - **The run fence.** A harness run resets its items with its run id in `items.run_id`; a trigger
///   refuses (SQLSTATE ``staleRunState``) any order whose `run_id` is another run's, so a request an
///   earlier run left queued, held or in flight can never buy this run's stock and fake a lost update
///   in its report. The transaction that tried rolls back whole: its stock write goes with it.
/// - **`racelab_request_bought(uuid)`**, the executor's probe before it answers a request "not
///   bought": it inserts a placeholder order for the request id and undoes it at once. The unique
///   index makes that insert wait for any other copy of the same request still in flight, so the
///   answer is the request's real fate, whichever copy bought.
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
        CREATE TABLE IF NOT EXISTS item_units (
            item_id    bigint  NOT NULL,
            unit_no    integer NOT NULL,
            request_id uuid,
            PRIMARY KEY (item_id, unit_no)
        );
        CREATE INDEX IF NOT EXISTS item_units_free ON item_units (item_id, unit_no) WHERE request_id IS NULL;
        CREATE TABLE IF NOT EXISTS strategy_definitions (
            version       text        PRIMARY KEY,
            name          text        NOT NULL,
            source        text        NOT NULL,
            registered_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE OR REPLACE FUNCTION racelab_order_fence() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            owner uuid;
        BEGIN
            SELECT run_id INTO owner FROM items WHERE id = NEW.item_id;
            IF owner IS NOT NULL AND owner <> NEW.run_id THEN
                RAISE EXCEPTION 'request % of run % came after item % was reset for run %',
                    NEW.request_id, NEW.run_id, NEW.item_id, owner USING ERRCODE = '\(staleRunState)';
            END IF;
            RETURN NEW;
        END $$;
        -- Only when missing: ALTER TABLE and CREATE TRIGGER lock the tables, and workers started in
        -- the middle of a run (replacing killed ones) get here too.
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'run_id') THEN
                ALTER TABLE items ADD COLUMN run_id uuid;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND tgname = 'orders_run_fence') THEN
                CREATE TRIGGER orders_run_fence BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION racelab_order_fence();
            END IF;
        END $$;
        CREATE OR REPLACE FUNCTION racelab_request_bought(request uuid) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy)
            VALUES (request, '00000000-0000-0000-0000-000000000000', 0, 0, 0, '');
            RAISE EXCEPTION USING ERRCODE = 'RL000';
        EXCEPTION
            WHEN unique_violation THEN RETURN true;
            WHEN SQLSTATE 'RL000' THEN RETURN false;
        END $$;
        """

    /// The SQLSTATE of an order refused by the run fence: its request belongs to a run that is over,
    /// because the item was reset for another run since (see ``reset(items:stock:keeping:run:on:)``).
    public static let staleRunState = "RL001"

    /// The most unit rows a run of a unit-rows strategy may need (items × stock).
    public static let maxUnitRows = 2_000_000

    /// Creates the tables if they are missing. Safe to call from many processes at once: it holds a
    /// session advisory lock while it works (concurrent `CREATE TABLE IF NOT EXISTS` can otherwise collide).
    public static func ensure(on db: PostgresConnection) throws {
        try db.execute("SELECT pg_advisory_lock(7262111)")
        defer { _ = try? db.execute("SELECT pg_advisory_unlock(7262111)") }
        try db.execute(ddl)
    }

    /// Empties the orders and sets items `1...items` to `stock` each, version 0; every other item is
    /// removed. With `.unitRows` stock, each item also gets `stock` free unit rows (and `items.stock`
    /// is left as it started); otherwise the unit rows are emptied.
    ///
    /// With a `run` id the items are fenced for that run (see the type's notes) until ``releaseFence(run:on:)``.
    /// The tables are locked first in the order the strategies take them (unit rows, items, orders), so
    /// a transaction of an earlier run still in flight finishes before the reset instead of deadlocking with it.
    public static func reset(
        items: Int,
        stock: Int,
        keeping: StrategyTraits.Stock = .itemRow,
        run: UUID? = nil,
        on db: PostgresConnection
    ) throws {
        try db.transaction {
            try db.execute("LOCK TABLE item_units, items, orders IN ACCESS EXCLUSIVE MODE")
            try db.execute("TRUNCATE orders, item_units")
            try db.execute("DELETE FROM items")
            try db.query(
                "INSERT INTO items (id, stock, initial_stock, version, run_id) SELECT g, $2, $2, 0, $3::uuid FROM generate_series(1, $1::bigint) AS g",
                [String(items), String(stock), run?.uuidString]
            )
            if keeping == .unitRows {
                try db.query(
                    """
                    INSERT INTO item_units (item_id, unit_no)
                    SELECT i, u FROM generate_series(1, $1::bigint) AS i, generate_series(1, $2::integer) AS u
                    """,
                    [String(items), String(stock)]
                )
            }
        }
    }

    /// Writes every dirty page out now (`CHECKPOINT`), so a measurement that starts next does not pay
    /// for a checkpoint the one before it made due, nor for the full-page images that follow one more
    /// than the other. Returns false, changing nothing, when the role may not (it needs superuser or
    /// `pg_checkpoint`).
    @discardableResult
    public static func checkpoint(on db: PostgresConnection) throws -> Bool {
        do {
            try db.execute("CHECKPOINT")
            return true
        } catch let error as PostgresError where error.sqlState == "42501" {
            return false
        }
    }

    /// Lifts the fence of `run` from its items: a finished run's leftovers no longer matter to it, and
    /// the API's purchases (another run) may buy the items again.
    public static func releaseFence(run: UUID, on db: PostgresConnection) throws {
        try db.query("UPDATE items SET run_id = NULL WHERE run_id = $1", [run.uuidString])
    }

    /// Creates or resets one item (stock, initial stock, version; its orders deleted), leaving every
    /// other item alone. With `.unitRows` stock the item also gets `stock` free unit rows.
    public static func resetItem(
        _ id: Int64,
        stock: Int,
        version: Int64 = 0,
        keeping: StrategyTraits.Stock = .itemRow,
        on db: PostgresConnection
    ) throws {
        try db.transaction {
            try db.query(
                """
                INSERT INTO items (id, stock, initial_stock, version) VALUES ($1, $2, $2, $3)
                ON CONFLICT (id) DO UPDATE SET stock = EXCLUDED.stock, initial_stock = EXCLUDED.stock, version = EXCLUDED.version, run_id = NULL
                """,
                [String(id), String(stock), String(version)]
            )
            try db.query("DELETE FROM orders WHERE item_id = $1", [String(id)])
            try db.query("DELETE FROM item_units WHERE item_id = $1", [String(id)])
            if keeping == .unitRows {
                try db.query(
                    "INSERT INTO item_units (item_id, unit_no) SELECT $1, u FROM generate_series(1, $2::integer) AS u",
                    [String(id), String(stock)]
                )
            }
        }
    }

    /// One item as the API shows it.
    public struct ItemRow: Sendable, Equatable {
        public var id: Int64
        /// The stock left: `items.stock`, or the free unit rows when the item has any.
        public var stock: Int64
        public var initialStock: Int64
        public var version: Int64
        /// Units in the item's orders.
        public var sold: Int64
        public var orders: Int64
    }

    /// The stock one item has left, as ``items(id:limit:on:)`` shows it (its free unit rows when it keeps
    /// them, else `items.stock`), in one cheap round trip; nil when there is no such item.
    public static func stock(ofItem id: Int64, on db: PostgresConnection) throws -> Int64? {
        try db.query(
            """
            SELECT CASE WHEN EXISTS (SELECT 1 FROM item_units WHERE item_id = $1)
                        THEN (SELECT count(*) FROM item_units WHERE item_id = $1 AND request_id IS NULL)
                        ELSE stock END
            FROM items WHERE id = $1
            """,
            [String(id)]
        ).scalar.flatMap { Int64($0) }
    }

    /// Items with what was sold of each, by id: every item (up to `limit`), or the one with `id`.
    public static func items(id: Int64? = nil, limit: Int = 1000, on db: PostgresConnection) throws -> [ItemRow] {
        let filter = id == nil ? "" : "WHERE i.id = $2"
        let result = try db.query(
            """
            SELECT i.id,
                   CASE WHEN u.units IS NULL THEN i.stock ELSE u.free END,
                   i.initial_stock, i.version, coalesce(o.sold, 0), coalesce(o.orders, 0)
            FROM items i
            LEFT JOIN (SELECT item_id, sum(quantity) AS sold, count(*) AS orders FROM orders GROUP BY item_id) o ON o.item_id = i.id
            LEFT JOIN (SELECT item_id, count(*) AS units, count(*) FILTER (WHERE request_id IS NULL) AS free FROM item_units GROUP BY item_id) u
                ON u.item_id = i.id
            \(filter)
            ORDER BY i.id LIMIT $1
            """,
            [String(limit)] + (id.map { [String($0)] } ?? [])
        )
        return result.rows.map { row in
            let value = { (index: Int) in row[index].flatMap { Int64($0) } ?? 0 }
            return ItemRow(id: value(0), stock: value(1), initialStock: value(2), version: value(3), sold: value(4), orders: value(5))
        }
    }
}
