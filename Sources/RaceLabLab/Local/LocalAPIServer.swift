import Foundation
import Logging
import RaceLabCore
import RaceLabPipeline
import Sandbox
import Synchronization

/// A `racelab-server` process (what `racelab serve` runs) the harness starts for one command and stops after it (`racelab run --via http`).
///
/// It listens on a free port of 127.0.0.1, uses the same server URLs, and logs to `logs/serve.log` under
/// the lab home, so a server that fails to start can be diagnosed. It runs with an API token — the
/// configured `RACELAB_API_TOKEN`, else a fresh random one — handed over in its environment (never on its
/// command line, which every local user can read), so only this harness can fire gated runs through it;
/// ``token(for:)`` gives it to the harness's publisher.
public final class LocalAPIServer {
    private let process: ChildProcess
    private let logger: Logger
    /// `http://127.0.0.1:<port>`.
    public let baseURL: URL
    /// Where the server writes its log.
    public let log: URL
    /// The token the server requires.
    let token: String

    /// Starts the server and waits (up to `timeoutSeconds`) until `GET /openapi.json` answers.
    public init(
        executable: URL,
        postgresURL: String,
        amqpURL: String,
        logDirectory: URL,
        logger: Logger,
        timeoutSeconds: Double = 30
    ) throws {
        self.logger = logger
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        log = logDirectory.appendingPathComponent("serve.log")
        let port = try FreePort.find()
        baseURL = URL(string: "http://127.0.0.1:\(port)")!
        token = HTTPStampedePublisher.configuredToken ?? Self.randomToken()
        var environment = ProcessInfo.processInfo.environment
        environment["RACELAB_POSTGRES_URL"] = postgresURL
        environment["RACELAB_AMQP_URL"] = amqpURL
        environment[HTTPStampedePublisher.tokenVariable] = token
        process = try LoggedProcess.start(
            executable,
            arguments: ["--host", "127.0.0.1", "--port", String(port), "--exit-with-parent"],
            environment: environment,
            log: log,
            what: "the API server"
        )
        do {
            try waitUntilReady(port: port, timeoutSeconds: timeoutSeconds)
        } catch {
            stop()
            throw error
        }
        let (url, token) = (baseURL.absoluteString, token)
        HTTPStampedePublisher.issuedTokens.withLock { $0[url] = token }
        logger.debug("Local API server ready", metadata: ["lab.url": "\(baseURL.absoluteString)", "lab.pid": "\(process.pid)"])
    }

    private func waitUntilReady(port: Int, timeoutSeconds: Double) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            guard process.isRunning else {
                throw HarnessError(
                    message: "the API server exited with status \(process.exitStatus ?? -1) before answering: \(lastLogLine()) (log: \(log.path))"
                )
            }
            let connection = BlockingHTTPConnection(host: "127.0.0.1", port: port, timeoutSeconds: 2)
            if let response = try? connection.send(method: "GET", path: "/openapi.json"), response.status == 200 { return }
            guard Date() < deadline else {
                throw HarnessError(message: "the API server did not answer GET /openapi.json within \(Int(timeoutSeconds)) s (log: \(log.path))")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    private func lastLogLine() -> String {
        (try? String(contentsOf: log, encoding: .utf8))?.split(whereSeparator: \.isNewline).last.map(String.init) ?? "no output"
    }

    /// 32 random bytes as hex, from the system's secure generator.
    private static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Asks the server to finish (SIGTERM), waits up to `graceSeconds`, then kills it.
    public func stop(graceSeconds: Double = 10) {
        let url = baseURL.absoluteString
        HTTPStampedePublisher.issuedTokens.withLock { _ = $0.removeValue(forKey: url) }
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        let deadline = Date().addingTimeInterval(graceSeconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            logger.warning("API server did not stop in time; killing it", metadata: ["lab.pid": "\(process.pid)"])
            kill(process.pid, SIGKILL)
        }
    }

    deinit { stop() }
}
