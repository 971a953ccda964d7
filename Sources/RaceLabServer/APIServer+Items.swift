import Foundation
import Hummingbird
import OpenAPIKit30
import Postgres
import RaceLabCore
import RaceLabPipeline

/// `GET /items`, `GET /items/{id}`, `POST /items/{id}/reset`.
extension APIServer {
    /// Stock a reset may set: the column is a 32-bit integer.
    static let stockRange: ClosedRange<Int64> = 0...1_000_000_000

    func addItemRoutes(to routes: DocumentedRouter) {
        routes.get("/items", Self.itemsOperation) { _, _ in
            try jsonResponse(["items": try await self.allItems()])
        }
        routes.get("/items/{id}", Self.itemOperation) { _, context in
            let id = try Self.itemId(context)
            return try await self.itemResponse(id)
        }
        routes.post("/items/{id}/reset", Self.resetItemOperation) { request, context in
            let id = try Self.itemId(context)
            let body = try await JSONBody(request, fields: ["stock", "version"])
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

    static let itemsOperation = OpenAPI.Operation(
        summary: "Every item (up to 1000) with its stock and sales",
        responses: [
            200: APIDoc.json("The items", .object(properties: ["items": .array(items: APIDoc.schema("Item"))])),
            503: .problem,
        ]
    )

    static let itemOperation = OpenAPI.Operation(
        summary: "One item",
        parameters: [APIDoc.itemId],
        responses: [
            200: APIDoc.json("The item", APIDoc.schema("Item")),
            400: .problem,
            404: .problem,
            422: .problem,
            503: .problem,
        ]
    )

    static let resetItemOperation = OpenAPI.Operation(
        summary: "Create or reset an item: set its stock and version, delete its orders",
        parameters: [APIDoc.itemId],
        requestBody: APIDoc.body(
            .object(
                properties: [
                    "stock": .integer(
                        maximum: (Int(stockRange.upperBound), exclusive: false),
                        minimum: (Int(stockRange.lowerBound), exclusive: false)
                    ),
                    "version": .integer(format: .int64, required: false, minimum: (0, exclusive: false), defaultValue: 0),
                ],
                additionalProperties: .a(false)
            )
        ),
        responses: APIDoc.bodyResponses([
            200: APIDoc.json("The item after the reset", APIDoc.schema("Item")),
            503: .problem,
        ])
    )

    /// Creates or resets the item (stock, initial stock, version; its orders deleted; unit rows for a
    /// strategy that keeps them) and broadcasts its stock.
    func resetItem(_ id: Int64, stock: Int64, version: Int64, keeping: StrategyTraits.Stock = .itemRow) async throws {
        try await database.run { db in try Schema.resetItem(id, stock: Int(stock), version: version, keeping: keeping, on: db) }
        ledger.broadcast(.stock(itemId: id, stock: stock))
    }

    /// Every item (up to 1000), by id, with what was sold of it.
    func allItems() async throws -> [[String: Int64]] {
        try await database.run { db in try Schema.items(on: db).map(Self.document) }
    }

    private func itemResponse(_ id: Int64) async throws -> Response {
        let items = try await database.run { db in try Schema.items(id: id, on: db).map(Self.document) }
        guard let item = items.first else { throw ProblemDetails(.notFound, "no item \(id); create it with POST /items/\(id)/reset", field: "id") }
        return try jsonResponse(item)
    }

    static func itemId(_ context: BasicRequestContext) throws -> Int64 {
        let text = context.parameters.get("id") ?? ""
        guard let id = Int64(text) else { throw ProblemDetails.malformed("id", "'\(text.prefix(40))' is not a 64-bit integer") }
        guard id > 0 else { throw ProblemDetails.invalid("id", "must be positive, got \(id)") }
        return id
    }

    private static func document(_ item: Schema.ItemRow) -> [String: Int64] {
        ["id": item.id, "stock": item.stock, "initialStock": item.initialStock, "version": item.version, "sold": item.sold, "orders": item.orders]
    }
}
