import Foundation
import Hummingbird

/// A client-facing failure as an RFC 9457 problem document: `{type, title, status, detail, field?, requestId?}`,
/// served as `application/problem+json`.
///
/// Route handlers and middleware throw it; ``ProblemMiddleware`` turns it (and any other error) into the
/// response. A detail is written for the client: a 5xx names the dependency, never the internal error (that
/// goes to the log where the failure is seen).
struct ProblemDetails: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    var detail: String
    /// The request field at fault, when there is one (`itemId`, `body`, `id`).
    var field: String?
    /// The purchase the problem is about, when the server kept it (a publish RabbitMQ did not confirm).
    var requestId: UUID?
    /// Extra response headers: `Allow` on a 405, `WWW-Authenticate` on a 401, `Retry-After`, `Location`.
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ detail: String, field: String? = nil) {
        self.status = status
        self.detail = detail
        self.field = field
    }

    /// A field of the wrong JSON type or an unreadable body: 400.
    static func malformed(_ field: String, _ detail: String) -> ProblemDetails {
        ProblemDetails(.badRequest, "field \(field): \(detail)", field: field)
    }

    /// A well-typed field whose value cannot be served: 422.
    static func invalid(_ field: String, _ detail: String) -> ProblemDetails {
        ProblemDetails(.unprocessableContent, "field \(field): \(detail)", field: field)
    }

    /// A field only a caller holding the API token may send: 403.
    static func needsToken(_ field: String, _ detail: String) -> ProblemDetails {
        ProblemDetails(
            .forbidden,
            "field \(field): \(detail) only with the API token (start racelab serve with --token or RACELAB_API_TOKEN, "
                + "send Authorization: Bearer <token>)",
            field: field
        )
    }

    /// The broker or the database cannot take the request now: 503, with `Retry-After`.
    static func unavailable(_ detail: String) -> ProblemDetails {
        var problem = ProblemDetails(.serviceUnavailable, detail)
        problem.headers[.retryAfter] = "1"
        return problem
    }

    /// The response carrying this problem.
    var response: Response {
        var document: [String: Any] = [
            "type": "about:blank",
            "title": status.reasonPhrase,
            "status": status.code,
            "detail": detail,
        ]
        if let field { document["field"] = field }
        if let requestId { document["requestId"] = requestId.uuidString.lowercased() }
        let bytes = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var headers = headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
