import Hummingbird

/// Applies the ``AccessPolicy`` to every request before it reaches a route: cross-origin (`403`),
/// no token (`401`), not JSON (`415`).
struct AccessMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: AccessPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try policy.check(request)
        return try await next(request, context)
    }
}
