import Foundation
import Hummingbird
import Postgres

/// `GET /items`, `GET /items/{id}`, `POST /items/{id}/reset`.
extension APIServer {
    /// Stock a reset may set: the column is a 32-bit integer.
    static let stockRange: ClosedRange<Int64> = 0...1_000_000_000

    /// Each item with what was sold of it (`sold` = units in its orders, `orders` = how many).
    static let itemsQuery = """
        SELECT i.id, i.stock, i.initial_stock, i.version, coalesce(o.sold, 0), coalesce(o.orders, 0)
        FROM items i
        LEFT JOIN (SELECT item_id, sum(quantity) AS sold, count(*) AS orders FROM orders GROUP BY item_id) o ON o.item_id = i.id
        """

    func addItemRoutes(to router: Router<BasicRequestContext>) {
        router.get("/items") { _, _ in
            try jsonResponse(["items": try await self.allItems()])
        }
        router.get("/items/{id}") { _, context in
            let id = try Self.itemId(context)
            return try await self.itemResponse(id)
        }
        router.post("/items/{id}/reset") { request, context in
            let id = try Self.itemId(context)
            let body = try await JSONBody(request)
            let stock = try body.integer("stock") ?? 0
            let version = try body.integer("version", required: false) ?? 0
            guard Self.stockRange.contains(stock) else {
                throw ProblemDetails.invalid("stock", "must be in \(Self.stockRange.lowerBound)...\(Self.stockRange.upperBound), got \(stock)")
            }
            guard version >= 0 else { throw ProblemDetails.invalid("version", "must not be negative, got \(version)") }
            try await self.resetItem(id, stock: stock, version: version)
            return try await self.itemResponse(id)
        }
    }

    /// Creates or resets the item (stock, initial stock, version; its orders deleted) and broadcasts its stock.
    func resetItem(_ id: Int64, stock: Int64, version: Int64) async throws {
        try await database.run { db in
            try db.transaction {
                try db.query(
                    """
                    INSERT INTO items (id, stock, initial_stock, version) VALUES ($1, $2, $2, $3)
                    ON CONFLICT (id) DO UPDATE SET stock = EXCLUDED.stock, initial_stock = EXCLUDED.stock, version = EXCLUDED.version
                    """,
                    [String(id), String(stock), String(version)]
                )
                try db.query("DELETE FROM orders WHERE item_id = $1", [String(id)])
            }
        }
        ledger.broadcast(.stock(itemId: id, stock: stock))
    }

    /// Every item (up to 1000), by id, with what was sold of it.
    func allItems() async throws -> [[String: Int64]] {
        try await database.run { db in try Self.items(db.query(Self.itemsQuery + " ORDER BY i.id LIMIT 1000")) }
    }

    private func itemResponse(_ id: Int64) async throws -> Response {
        let items = try await database.run { db in try Self.items(db.query(Self.itemsQuery + " WHERE i.id = $1", [String(id)])) }
        guard let item = items.first else { throw ProblemDetails(.notFound, "no item \(id); create it with POST /items/\(id)/reset", field: "id") }
        return try jsonResponse(item)
    }

    static func itemId(_ context: BasicRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text) else { throw ProblemDetails.malformed("id", "'\(text.prefix(40))' is not a 64-bit integer") }
        guard id > 0 else { throw ProblemDetails.invalid("id", "must be positive, got \(id)") }
        return id
    }

    private static func items(_ result: PostgresResult) -> [[String: Int64]] {
        result.rows.map { row in
            let value = { (index: Int) in row[index].flatMap { Int64($0) } ?? 0 }
            return ["id": value(0), "stock": value(1), "initialStock": value(2), "version": value(3), "sold": value(4), "orders": value(5)]
        }
    }
}
