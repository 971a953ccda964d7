import Foundation
import Hummingbird
import RaceLabCore
import RaceLabPipeline

/// `GET /openapi.json` and `GET /docs`.
extension APIServer {
    func addDocumentationRoutes(to router: Router<BasicRequestContext>) {
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.openAPIDocument))
            )
        }
        router.get("/strategies") { _, _ in
            let catalog = try await self.strategies.refresh(maxAge: 0)
            return try jsonResponse(["strategies": catalog.all.map(Self.document)])
        }
        router.get("/docs") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: DocsPage.html(document: self.openAPIDocument)))
            )
        }
    }

    /// The OpenAPI document as served now. It never waits on the database: the strategy catalogue as last
    /// read (at start, by `GET /strategies`, or when a request named a strategy not yet known).
    var openAPIDocument: String {
        OpenAPIDocument.json(strategies: strategies.catalog.names, tokenRequired: access.token != nil)
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
