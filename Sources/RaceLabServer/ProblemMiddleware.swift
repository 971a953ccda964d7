import Hummingbird
import Logging

/// Answers every error as `application/problem+json`: ``ProblemDetails`` as thrown, Hummingbird's
/// `HTTPError` (unknown route, body too large) with its status, anything else as a 500 whose detail says
/// nothing of the cause — the cause goes to the log.
///
/// It sits in front of the router, so unmatched routes pass through it too.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            return problem.response
        } catch let error as HTTPError {
            let detail =
                switch error.status {
                case .notFound: "no route for \(request.method) \(request.uri.path); see /docs"
                case .contentTooLarge: "body: larger than the server accepts"
                case _ where error.status.code >= 500: "the server failed to answer; its log has the cause"
                default: error.body ?? error.status.reasonPhrase
                }
            if error.status.code >= 500 {
                context.logger.error("Request failed", metadata: ["lab.error": "\(error)", "lab.path": "\(request.uri.path)"])
            }
            return ProblemDetails(error.status, detail).response
        } catch {
            context.logger.error("Request failed", metadata: ["lab.error": "\(error)", "lab.path": "\(request.uri.path)"])
            return ProblemDetails(.internalServerError, "the server failed to answer; its log has the cause").response
        }
    }
}
