import Foundation
import RaceLabCore
import Synchronization

/// How the harness hands a stampede's requests to the workers.
public enum StampedeTransport: Sendable, Equatable {
    /// Published straight to `racelab.purchases` with publisher confirms.
    case queue
    /// Sent as `POST {base}/purchases` to a `racelab serve` API, which publishes each one.
    case http(URL)

    /// `queue` or `http`, as in the report's `via` field.
    public var name: String {
        switch self {
        case .queue: "queue"
        case .http: "http"
        }
    }
}

/// Sends a stampede's requests as `POST /purchases` with bounded concurrency: `concurrency` dedicated
/// threads, each with its own kept-alive connection, take the next request until none is left.
///
/// The requests carry the harness's own run id and gate, which the API takes only with its token: sent as
/// `Authorization: Bearer`, from ``token``, else the ``LocalAPIServer`` this process started there, else
/// `RACELAB_API_TOKEN`. Blocks the calling thread until every request was accepted (`202`) or one was not;
/// then throws a one-line ``HarnessError`` naming the status and the API's problem detail.
package struct HTTPStampedePublisher {
    var baseURL: URL
    var concurrency = 32
    var token: String?

    /// The environment variable holding the API token, for `racelab serve` and for the harness.
    package static let tokenVariable = "RACELAB_API_TOKEN"

    /// Tokens of the API servers this process started (a `LocalAPIServer` registers its own), by base URL.
    package static let issuedTokens = Mutex<[String: String]>([:])

    /// The token of the server at `baseURL` if this process started it; nil otherwise.
    static func issuedToken(for baseURL: URL) -> String? {
        issuedTokens.withLock { $0[baseURL.absoluteString] }
    }

    /// `RACELAB_API_TOKEN`, when set and not empty.
    package static var configuredToken: String? {
        ProcessInfo.processInfo.environment[tokenVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The JSON body of one request, with the harness's own ids and the gate.
    private struct Body: Encodable {
        var requestId: UUID
        var runId: UUID
        var itemId: Int64
        var buyerId: Int64
        var quantity: Int
        var strategy: StrategyName
        var thinkMs: Int
        var gated: Bool
        var isolation: IsolationLevel?
    }

    /// What the threads share: the next index and the first failure.
    private final class Shared: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private var sent = 0
        private(set) var failure: String?

        func take(below count: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard failure == nil, next < count else { return nil }
            next += 1
            return next - 1
        }

        func accepted() {
            lock.lock()
            sent += 1
            lock.unlock()
        }

        func fail(_ message: String) {
            lock.lock()
            if failure == nil { failure = message + " (\(sent) accepted before)" }
            lock.unlock()
        }

        var result: String? {
            lock.lock()
            defer { lock.unlock() }
            return failure
        }
    }

    func publish(_ requests: [PurchaseRequest]) throws {
        guard let host = baseURL.host else { throw HarnessError(message: "API URL \(baseURL.absoluteString) has no host") }
        guard baseURL.scheme == "http" else { throw HarnessError(message: "API URL \(baseURL.absoluteString): only http:// is supported") }
        let port = baseURL.port ?? 80
        let path = baseURL.path.hasSuffix("/") ? baseURL.path + "purchases" : baseURL.path + "/purchases"
        let shared = Shared()
        let done = DispatchSemaphore(value: 0)
        let threads = max(1, min(concurrency, requests.count))
        // Named without any user or password the URL may carry.
        let target = "POST http://\(host)\(baseURL.port.map { ":\($0)" } ?? "")\(path)"
        let headers =
            (token ?? Self.issuedToken(for: baseURL) ?? Self.configuredToken).map { [(name: "Authorization", value: "Bearer \($0)")] } ?? []
        for index in 0..<threads {
            let thread = Thread {
                defer { done.signal() }
                let connection = BlockingHTTPConnection(host: host, port: port)
                let encoder = JSONEncoder()
                while let next = shared.take(below: requests.count) {
                    let request = requests[next]
                    let body = Body(
                        requestId: request.requestId,
                        runId: request.runId,
                        itemId: request.itemId,
                        buyerId: request.buyerId,
                        quantity: request.quantity,
                        strategy: request.strategy,
                        thinkMs: request.thinkMs,
                        gated: request.gated,
                        isolation: request.isolation
                    )
                    do {
                        let response = try connection.send(method: "POST", path: path, body: Array(try encoder.encode(body)), headers: headers)
                        guard response.status == 202 else {
                            shared.fail("\(target) answered \(response.status): \(Self.detail(of: response.body))")
                            return
                        }
                        shared.accepted()
                    } catch {
                        shared.fail("\(target) failed: \(BlockingHTTPConnection.describe(error))")
                        return
                    }
                }
            }
            thread.name = "racelab-http-\(index + 1)"
            thread.start()
        }
        for _ in 0..<threads { done.wait() }
        if let failure = shared.result { throw HarnessError(message: failure) }
    }

    /// The problem document's `detail`, else the body's first line (shortened).
    static func detail(of body: [UInt8]) -> String {
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let detail = object["detail"] as? String {
            return detail
        }
        let text = String(decoding: body.prefix(200), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return text.isEmpty ? "no body" : text
    }
}
