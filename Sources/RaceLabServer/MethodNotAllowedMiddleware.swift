import Hummingbird

/// Answers `405 Method Not Allowed`, with `Allow`, for a path the router serves but not with the request's
/// method (`PUT /purchases`, `TRACE /stats`); other unmatched requests stay `404`.
///
/// Add it to the router after every route: Hummingbird wraps a route in the middleware added before it,
/// and the not-found responder in all of them — so this one sees only the requests no route matched.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private let paths: [(path: RouterPath, methods: [HTTPRequest.Method])]

    /// - Parameter routes: the router's routes (`router.routes`) once all are added.
    init(routes: [Router<Context>.RouteDescription]) {
        var paths: [(path: RouterPath, methods: [HTTPRequest.Method])] = []
        for route in routes {
            if let index = paths.firstIndex(where: { $0.path.description == route.path.description }) {
                paths[index].methods.append(route.method)
            } else {
                paths.append((route.path, [route.method]))
            }
        }
        self.paths = paths
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let methods = allowedMethods(for: request.uri.path) else { throw error }
            let allow = methods.map(\.rawValue).sorted().joined(separator: ", ")
            var problem = ProblemDetails(.methodNotAllowed, "\(request.method) is not served on \(request.uri.path); it answers \(allow)")
            problem.headers[.allow] = allow
            throw problem
        }
    }

    /// The methods served on the route matching `path`, or nil when no route does.
    private func allowedMethods(for path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return paths.first { candidate in
            candidate.path.components.count == segments.count && zip(candidate.path.components, segments).allSatisfy { $0 ~= $1 }
        }?.methods
    }
}
