import Foundation
import Hummingbird
import HummingbirdTesting
import LabTestSupport
import Logging
import RaceLabCore
import RaceLabPipeline
import RaceLabServer
import Testing

/// This target's corner of the servers the test command started (`eval "$(racelab up)"`): its own
/// database and vhost (`racelab_t_server`), so the other test targets' suites run beside it.
enum ServerLab {
    static let lab = IsolatedLab("server")
    static var available: Bool { LiveServers.available }
    static let skipNotice = LiveServers.skipNotice
    static var postgresURL: String? { available ? lab.postgresURL : nil }
    static var amqpURL: String? { available ? lab.amqpURL : nil }
    static var logger: Logger { LiveServers.logger }

    static var configuration: APIServerConfiguration {
        APIServerConfiguration(postgresURL: lab.postgresURL, amqpURL: lab.amqpURL)
    }

    /// The lab's servers with an API token.
    static func configuration(token: String?) -> APIServerConfiguration {
        var configuration = configuration
        configuration.token = token
        return configuration
    }
}

/// Every suite that starts API servers and workers on the lab nests in here, one at a time: a suite
/// whose purchases must stay queued cannot share the queue with another suite's worker. A hang fails
/// the test instead of blocking the run.
@Suite(.serialized, .enabled(if: ServerLab.available, ServerLab.skipNotice), .isolated(ServerLab.lab), .timeLimit(.minutes(2)))
struct LiveServerLab {}

/// Starts an API server against the lab's servers and an in-process worker with `consumers` threads (none
/// for 0: purchases then stay queued), runs `body` with a client of the server's router (or, with `.live`,
/// of a real HTTP server on a free port: `client.port`), then stops both.
func withLiveAPI<T: Sendable>(
    consumers: Int = 4,
    setup: TestingSetup = .router,
    configuration: APIServerConfiguration = ServerLab.configuration,
    _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    let worker =
        consumers == 0
        ? nil
        : Worker(
            configuration: WorkerConfiguration(
                postgresURL: ServerLab.postgresURL ?? "",
                amqpURL: ServerLab.amqpURL ?? "",
                consumers: consumers,
                name: "api-test-\(getpid())"
            ),
            logger: ServerLab.logger
        )
    if let worker {
        try await onThread { try worker.checkConnections() }
        worker.start()
    }
    let server = try APIServer(configuration: configuration, logger: ServerLab.logger)
    let result: Result<T, any Error>
    do {
        try await server.start()
        let app = Application(router: server.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: ServerLab.logger)
        // Stopping the server inside the test ends its event streams, which a live HTTP server's graceful
        // shutdown would otherwise wait for (a browser's EventSource).
        result = .success(
            try await app.test(setup) { client in
                defer { server.stop() }
                return try await body(client)
            }
        )
    } catch {
        result = .failure(error)
    }
    server.stop()
    worker?.stop()
    try await onThread {
        server.waitUntilStopped()
        worker?.wait()
    }
    return try result.get()
}

extension TestClientProtocol {
    /// Sends a request with a JSON (or deliberately broken) body and returns the response. `headers` are
    /// added to (or replace) `Content-Type: application/json`.
    func send(_ method: HTTPRequest.Method, _ uri: String, body: String? = nil, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields: HTTPFields = [.contentType: "application/json"]
        for field in headers { fields[field.name] = field.value }
        return try await execute(uri: uri, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
    }

    /// Polls `GET /purchases/{id}` until the purchase is no longer pending (or 30 s passed) and returns its status.
    func settledStatus(of requestId: String) async throws -> [String: Any] {
        var status: [String: Any] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            status = try await send(.get, "/purchases/\(requestId)").json
            if status["status"] as? String != "pending" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return status
    }
}

extension TestResponse {
    /// The body parsed as a JSON object.
    var json: [String: Any] {
        get throws {
            let value = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
            return try #require(value as? [String: Any])
        }
    }
}
