import Hummingbird
import OpenAPIKit30
import Synchronization

/// The router as the `addXRoutes(to:)` extensions see it: each call registers a route on the Hummingbird
/// router and records its OpenAPI operation, so a route cannot exist without its documentation. The path is
/// written once: Hummingbird's syntax (`/items/{id}`) is OpenAPI's.
struct DocumentedRouter {
    let router: Router<BasicRequestContext>
    /// The operations registered so far; `GET /openapi.json` builds the document from them.
    let operations = OperationRecord()

    func get<Output: ResponseGenerator>(
        _ path: String,
        _ operation: OpenAPI.Operation,
        use handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Output
    ) {
        operations.add(path, .get, operation)
        router.get(RouterPath(path), use: handler)
    }

    /// A `POST`: its `security` is filled in when the document is served (the bearer token, when the server has one).
    func post<Output: ResponseGenerator>(
        _ path: String,
        _ operation: OpenAPI.Operation,
        use handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Output
    ) {
        operations.add(path, .post, operation)
        router.post(RouterPath(path), use: handler)
    }
}

/// The operations a router serves, by path and method, in the order they were registered.
final class OperationRecord: Sendable {
    struct Entry: Sendable {
        var path: String
        var method: OpenAPI.BuiltinHttpMethod
        var operation: OpenAPI.Operation
    }

    private let entries = Mutex<[Entry]>([])

    var all: [Entry] { entries.withLock { $0 } }

    func add(_ path: String, _ method: OpenAPI.BuiltinHttpMethod, _ operation: OpenAPI.Operation) {
        entries.withLock { entries in
            precondition(!entries.contains { $0.path == path && $0.method == method }, "\(method) \(path) is registered twice")
            entries.append(Entry(path: path, method: method, operation: operation))
        }
    }
}
