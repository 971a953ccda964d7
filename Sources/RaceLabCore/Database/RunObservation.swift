import Foundation
import Postgres

/// What the database says about one run once it is over: per item, its stock before and after and the
/// units sold; and any request id that owns more than one order.
public struct RunObservation: Sendable, Equatable {
    public struct Item: Sendable, Equatable, Codable {
        public var itemId: Int64
        public var initialStock: Int
        public var finalStock: Int
        /// Units in committed orders of this run.
        public var sold: Int
        /// Orders (rows) of this run; equals `sold` when every request buys one unit.
        public var orders: Int
        /// Buyers of this item the strategy turned away (sold out or gave up), from the outcomes.
        public var turnedAway: Int

        public init(itemId: Int64, initialStock: Int, finalStock: Int, sold: Int, orders: Int, turnedAway: Int = 0) {
            self.itemId = itemId
            self.initialStock = initialStock
            self.finalStock = finalStock
            self.sold = sold
            self.orders = orders
            self.turnedAway = turnedAway
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            itemId = try container.decode(Int64.self, forKey: .itemId)
            initialStock = try container.decode(Int.self, forKey: .initialStock)
            finalStock = try container.decode(Int.self, forKey: .finalStock)
            sold = try container.decode(Int.self, forKey: .sold)
            orders = try container.decode(Int.self, forKey: .orders)
            turnedAway = try container.decodeIfPresent(Int.self, forKey: .turnedAway) ?? 0
        }

        /// Units left that buyers turned away could have bought: the stock left, in whole quantities,
        /// up to what those buyers asked for. Zero when nobody was turned away or too little is left.
        public func undersold(quantity: Int) -> Int {
            guard turnedAway > 0, finalStock > 0 else { return 0 }
            let q = max(1, quantity)
            return min(finalStock - finalStock % q, turnedAway * q)
        }
    }

    public var items: [Item]
    /// Request ids with more than one order (a double purchase after redelivery).
    public var duplicateRequestIds: [UUID]

    public init(items: [Item], duplicateRequestIds: [UUID]) {
        self.items = items
        self.duplicateRequestIds = duplicateRequestIds
    }

    /// Reads the run's orders and the stock of its items, `1...items` (other items belong to someone
    /// else — an API client, say — and are none of this run's business).
    ///
    /// The remaining stock is read where the run's strategy keeps it: `items.stock`, or the free rows of
    /// `item_units` for a unit-rows strategy.
    public static func read(runId: UUID, items: Int, keeping: StrategyTraits.Stock = .itemRow, on db: PostgresConnection) throws -> RunObservation {
        let remaining =
            switch keeping {
            case .itemRow: "i.stock"
            case .unitRows: "(SELECT count(*) FROM item_units u WHERE u.item_id = i.id AND u.request_id IS NULL)"
            }
        let rows = try db.query(
            """
            SELECT i.id, i.initial_stock, \(remaining), COALESCE(sum(o.quantity), 0), count(o.id)
            FROM items i LEFT JOIN orders o ON o.item_id = i.id AND o.run_id = $1
            WHERE i.id BETWEEN 1 AND $2
            GROUP BY i.id ORDER BY i.id
            """,
            [runId.uuidString, String(items)]
        )
        let items = rows.rows.indices.map { row in
            Item(
                itemId: Int64(rows.int(row, 0) ?? 0),
                initialStock: rows.int(row, 1) ?? 0,
                finalStock: rows.int(row, 2) ?? 0,
                sold: rows.int(row, 3) ?? 0,
                orders: rows.int(row, 4) ?? 0
            )
        }
        let duplicates = try db.query(
            "SELECT request_id FROM orders WHERE run_id = $1 GROUP BY request_id HAVING count(*) > 1",
            [runId.uuidString]
        )
        return RunObservation(
            items: items,
            duplicateRequestIds: duplicates.rows.compactMap { row in row.first.flatMap { $0 }.flatMap { UUID(uuidString: $0) } }
        )
    }
}
