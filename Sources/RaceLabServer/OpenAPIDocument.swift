import Foundation
import OpenAPIKit30
import RaceLabCore

/// The OpenAPI 3.0 description of the API, served at `GET /openapi.json`: built with OpenAPIKit from the
/// operations the routes registered (``DocumentedRouter``) and the shared ``APIDoc/components(strategies:)``.
///
/// `RaceLabServerTests` checks that every route is in it, and `api-checks` (schemathesis) that the server
/// answers as it says. Two parts are the server's state when served: the `Strategy` enum, the strategies it
/// offers then, and each `POST`'s `security`, which names the bearer token when the server has one.
enum OpenAPIDocument {
    static let info = OpenAPI.Document.Info(
        title: "RaceLab API",
        description: "Buy the last item over HTTP. Purchases are published to RabbitMQ with publisher confirms and settled by RaceLab "
            + "workers against PostgreSQL. Every POST needs Content-Type application/json (415) and is refused from another origin "
            + "(403); when the server has an API token, every POST needs Authorization: Bearer <token> (401).",
        version: "1.1.0"
    )

    /// The document for `operations`, with `strategies` as the `Strategy` schema's values; `tokenRequired`:
    /// the server has a token, so every `POST` names the bearer scheme (else none names any).
    static func document(operations: [OperationRecord.Entry], strategies: [StrategyName], tokenRequired: Bool) -> OpenAPI.Document {
        var paths: OpenAPI.PathItem.Map = [:]
        for entry in operations {
            var operation = entry.operation
            if entry.method == .post { operation.security = tokenRequired ? [[.component(named: APIDoc.bearerAuth): []]] : [] }
            let path = OpenAPI.Path(rawValue: entry.path)
            var item = paths[path]?.pathItemValue ?? OpenAPI.PathItem()
            item.set(operation: operation, for: entry.method)
            paths[path] = .pathItem(item)
        }
        return OpenAPI.Document(
            openAPIVersion: .v3_0_3,
            info: info,
            servers: [],
            paths: paths,
            components: APIDoc.components(strategies: strategies)
        )
    }

    /// ``document(operations:strategies:tokenRequired:)`` as JSON, keys sorted (the same bytes on every call).
    static func json(operations: [OperationRecord.Entry], strategies: [StrategyName], tokenRequired: Bool) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let document = document(operations: operations, strategies: strategies, tokenRequired: tokenRequired)
        // Encoding values built in code cannot fail: a failure is a bug in them.
        return String(decoding: try! encoder.encode(document), as: UTF8.self)
    }
}
