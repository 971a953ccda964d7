import Foundation
import Hummingbird
import RaceLabCore
import RaceLabPipeline
import Testing

@testable import RaceLabServer

/// The OpenAPI document as built from the routes, without servers: the routes a router serves are the paths
/// it documents, and the server's state (its token, its strategies) is what the document says.
@Suite struct OpenAPIDocumentTests {
    static func routes(token: String? = nil) throws -> DocumentedRouter {
        try APIServer(
            configuration: APIServerConfiguration(postgresURL: "postgresql://nobody@127.0.0.1:1/none", amqpURL: "amqp://127.0.0.1:1", token: token),
            logger: ServerLab.logger
        ).makeRoutes()
    }

    /// The document as served, parsed.
    static func document(_ routes: DocumentedRouter, strategies: [StrategyName], tokenRequired: Bool) throws -> [String: Any] {
        let json = OpenAPIDocument.json(operations: routes.operations.all, strategies: strategies, tokenRequired: tokenRequired)
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test(arguments: [false, true]) func everyPostNamesTheBearerSchemeExactlyWhenTheServerHasAToken(tokenRequired: Bool) throws {
        let document = try Self.document(try Self.routes(), strategies: StrategyCatalog().names, tokenRequired: tokenRequired)
        let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
        var posts = 0
        for (path, operations) in paths {
            for (method, operation) in operations {
                let security = operation["security"] as? [[String: [String]]]
                if method == "post" {
                    posts += 1
                    #expect(security.map { $0 == (tokenRequired ? [["bearerAuth": []]] : []) } == true, "\(method) \(path)")
                } else {
                    #expect(operation["security"] == nil, "\(method) \(path)")
                }
            }
        }
        #expect(posts == 3)
    }

    @Test func theStrategyEnumIsExactlyTheGivenNames() throws {
        let names = ["naive", "skip-locked", "my-own"].compactMap(StrategyName.init(rawValue:))
        let document = try Self.document(try Self.routes(), strategies: names, tokenRequired: false)
        let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
        #expect(schemas["Strategy"]?["enum"] as? [String] == ["naive", "skip-locked", "my-own"])
        #expect(schemas["Strategy"]?["type"] as? String == "string")
    }

    @Test func everyRouteTheRouterServesIsADocumentedOperationAndNoneElse() throws {
        let routes = try Self.routes(token: "t")
        let served = Set(routes.router.routes.map { "\($0.method.rawValue.lowercased()) \($0.path)" })
        let document = try Self.document(routes, strategies: StrategyCatalog().names, tokenRequired: true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, operations in operations.keys.map { "\($0) \(path)" } })
        #expect(served == documented)
        #expect(served.count == 14)
    }

    @Test func theDocumentIsTheSameOnEveryCall() throws {
        let operations = try Self.routes().operations.all
        let names = StrategyCatalog().names
        #expect(
            OpenAPIDocument.json(operations: operations, strategies: names, tokenRequired: true)
                == OpenAPIDocument.json(operations: try Self.routes().operations.all, strategies: names, tokenRequired: true)
        )
    }
}
