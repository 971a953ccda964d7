import Foundation
import Hummingbird

/// Who may drive the API, and the one place the API token is checked.
///
/// A request that changes state (any method but `GET`, `HEAD`, `OPTIONS`, `TRACE`) is refused when a browser
/// sent it from another origin (`403`: `Origin` is not `http://` + the request's own `Host`, or
/// `Sec-Fetch-Site` is not `same-origin`/`none`; on a loopback server the `Host` must also name a loopback
/// address, so a DNS-rebound name is refused too), and, when a token is configured, unless it carries
/// `Authorization: Bearer <token>` (`401`). A request with a body must declare
/// `Content-Type: application/json` (`415`) — a page can send `text/plain` or a form to another origin
/// without asking, but not JSON. (A `POST` with no body at all reaches its route, which wants one: `400`;
/// on a path without `POST`, `405`.)
struct AccessPolicy: Sendable {
    /// The API token; nil when none is configured.
    let token: String?
    /// Whether the server listens on a loopback address only.
    let loopbackOnly: Bool

    init(token: String?, host: String) {
        self.token = token
        self.loopbackOnly = Self.isLoopback(host)
    }

    /// Whether `host` (an address or a name to listen on) is loopback only: `localhost`, `127.0.0.0/8`, `::1`.
    static func isLoopback(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if name == "localhost" || name == "::1" || name.hasSuffix(".localhost") { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// The problem with a token given on the command line or in the environment, if any: it goes into a
    /// header, so it must be visible ASCII with no spaces.
    static func problem(withToken token: String) -> String? {
        if token.isEmpty { return "the API token is empty" }
        if !token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            return "the API token must be visible ASCII characters with no spaces"
        }
        return nil
    }

    /// Whether the request changes state: every method but the safe ones.
    static func changesState(_ method: HTTPRequest.Method) -> Bool {
        ![.get, .head, .options, .trace].contains(method)
    }

    /// Whether the request carries the configured token (`Authorization: Bearer <token>`); false when none is
    /// configured. Compares in constant time.
    func isAuthorized(_ request: Request) -> Bool {
        guard let token, let header = request.headers[.authorization] else { return false }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        return Self.constantTimeEqual(Array(parts[1].utf8), Array(token.utf8))
    }

    /// Throws the problem (`403`, `401`, `415`) that refuses the request; returns when it may go on.
    func check(_ request: Request) throws {
        if Self.changesState(request.method) {
            try checkOrigin(request)
            if token != nil && !isAuthorized(request) {
                var problem = ProblemDetails(
                    .unauthorized,
                    "this server needs its API token on \(request.method) requests: send Authorization: Bearer <token>"
                )
                problem.headers[.wwwAuthenticate] = #"Bearer realm="racelab""#
                throw problem
            }
        }
        if Self.carriesBody(request) { try checkContentType(request) }
    }

    private func checkOrigin(_ request: Request) throws {
        // In HTTP/1.1 the authority is the Host header. "Sec-Fetch-Site" is a valid field name: `init` cannot fail.
        let host = request.head.authority?.lowercased()
        if let site = request.headers[.init("Sec-Fetch-Site")!]?.lowercased(), site != "same-origin", site != "none" {
            throw ProblemDetails(.forbidden, "cross-origin request refused (Sec-Fetch-Site: \(site.prefix(20)))", field: "Sec-Fetch-Site")
        }
        if let origin = request.headers[.origin] {
            guard let host, origin.lowercased() == "http://\(host)" else {
                throw ProblemDetails(.forbidden, "cross-origin request refused (Origin: \(origin.prefix(80)))", field: "Origin")
            }
        }
        // A page whose name was rebound to 127.0.0.1 is same-origin with itself; its Host gives it away.
        if loopbackOnly, let host, !Self.isLoopback(Self.hostName(host)) {
            throw ProblemDetails(
                .forbidden,
                "request for host \(host.prefix(80)) refused: this server answers for loopback names only",
                field: "Host"
            )
        }
    }

    private func checkContentType(_ request: Request) throws {
        let declared = request.headers[.contentType] ?? ""
        let mediaType = declared.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard mediaType == "application/json" else {
            var problem = ProblemDetails(
                .unsupportedMediaType,
                "body: expected Content-Type application/json, got \(declared.isEmpty ? "none" : String(declared.prefix(60)))",
                field: "Content-Type"
            )
            problem.headers[.init("Accept-Post")!] = "application/json"  // a valid field name: `init` cannot fail
            throw problem
        }
    }

    private static func carriesBody(_ request: Request) -> Bool {
        if request.headers[.transferEncoding] != nil { return true }
        return request.headers[.contentLength].map { $0 != "0" } ?? false
    }

    /// The name part of a `Host` value: `127.0.0.1:8080` → `127.0.0.1`, `[::1]:8080` → `[::1]`.
    private static func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let end = host.firstIndex(of: "]") { return String(host[...end]) }
        return String(host.split(separator: ":", maxSplits: 1).first ?? "")
    }

    private static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            difference |= (index < lhs.count ? lhs[index] : 0) ^ (index < rhs.count ? rhs[index] : 0)
        }
        return difference == 0
    }
}
