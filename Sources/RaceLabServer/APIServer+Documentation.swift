import Foundation
import Hummingbird
import OpenAPIKit30
import RaceLabCore
import RaceLabPipeline

/// `GET /openapi.json` and `GET /docs`.
extension APIServer {
    func addDocumentationRoutes(to routes: DocumentedRouter) {
        let operations = routes.operations
        routes.get("/openapi.json", Self.openAPIOperation) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.openAPIDocument(operations)))
            )
        }
        routes.get("/strategies", Self.strategiesOperation) { _, _ in
            let catalog = try await self.strategies.refresh(maxAge: 0)
            return try jsonResponse(["strategies": catalog.all.map(Self.document)])
        }
        routes.get("/docs", Self.docsOperation) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: DocsPage.html(document: self.openAPIDocument(operations))))
            )
        }
    }

    static let openAPIOperation = OpenAPI.Operation(
        summary: "This document",
        responses: [200: APIDoc.json("OpenAPI 3.0", .object)]
    )

    static let strategiesOperation = OpenAPI.Operation(
        summary: "The strategies this server offers",
        description:
            "The built-ins and the strategies registered from files (racelab run --strategy-file), read again from the database on each call.",
        responses: [
            200: APIDoc.json("The strategies", .object(properties: ["strategies": .array(items: APIDoc.schema("StrategyInfo"))])),
            503: .problem,
        ]
    )

    static let docsOperation = OpenAPI.Operation(
        summary: "A readable page of this document",
        responses: [200: APIDoc.text("HTML", .html)]
    )

    /// The OpenAPI document of `operations` as served now. It never waits on the database: the strategy
    /// catalogue as last read (at start, by `GET /strategies`, or when a request named a strategy not yet known).
    func openAPIDocument(_ operations: OperationRecord) -> String {
        OpenAPIDocument.json(operations: operations.all, strategies: strategies.catalog.names, tokenRequired: access.token != nil)
    }

    /// What `GET /strategies` says of one strategy (the same fields as `racelab strategies --format json`).
    static func document(_ strategy: any PurchaseStrategy) -> [String: Any] {
        var document: [String: Any] = [
            "name": strategy.name.rawValue, "builtIn": strategy.name.isBuiltIn, "summary": strategy.summary, "tradeoff": strategy.tradeoff,
            "isolation": strategy.traits.defaultIsolation.rawValue, "delivery": strategy.traits.delivery.rawValue,
            "stock": strategy.traits.stock.rawValue, "batches": strategy.traits.batches, "expectation": strategy.traits.expectation.rawValue,
        ]
        if let user = strategy as? UserStrategy { document["version"] = user.version }
        return document
    }
}
