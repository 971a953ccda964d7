import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import RaceLabCore
import RaceLabPipeline
import RaceLabServer
import Testing

/// The servers the test command started (`eval "$(racelab up)"`), found through the variables the CLI reads.
enum ServerLab {
    static let postgresURL = ProcessInfo.processInfo.environment["RACELAB_POSTGRES_URL"]
    static let amqpURL = ProcessInfo.processInfo.environment["RACELAB_AMQP_URL"]
    static var available: Bool { postgresURL != nil && amqpURL != nil }
    static let skipNotice: Comment = "start the servers with `eval \"$(racelab up)\"` (scripts/test does)"

    static let logger: Logger = {
        var logger = Logger(label: "racelab.server-tests")
        logger.logLevel = .warning
        return logger
    }()

    static var configuration: APIServerConfiguration {
        APIServerConfiguration(postgresURL: postgresURL ?? "", amqpURL: amqpURL ?? "")
    }

    /// The lab's servers with an API token.
    static func configuration(token: String?) -> APIServerConfiguration {
        var configuration = configuration
        configuration.token = token
        return configuration
    }
}

/// Runs blocking work (libpq, librabbitmq, thread joins) on its own thread, never on a Swift concurrency task.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

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
