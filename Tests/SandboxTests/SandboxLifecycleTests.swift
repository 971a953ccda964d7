import Foundation
import Logging
import Testing

@testable import Sandbox

/// Starts real servers: set RACELAB_SKIP_SANDBOX_TEST=1 to skip (about 10–20 s). Hermetic: a sandbox of its
/// own under a temporary home, on free ports, so it runs beside the suites that use the lab's servers.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["RACELAB_SKIP_SANDBOX_TEST"] != "1", "unset RACELAB_SKIP_SANDBOX_TEST to start real servers"),
    .timeLimit(.minutes(3))
)
struct SandboxLifecycleTests {
    let logger: Logger = {
        var logger = Logger(label: "racelab.sandbox.test")
        logger.logLevel = .debug
        return logger
    }()

    @Test func upStartsBothServersReusesThemAndDownStopsThem() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-sandbox-\(UUID().uuidString)")
        let sandbox = Sandbox(home: home, logger: logger)
        defer {
            _ = try? sandbox.down()
            try? FileManager.default.removeItem(at: home)
        }
        let probes = TestProbes.make()

        let endpoints = try sandbox.up(probes: probes)
        // Generated passwords, kept in a file only we can read; no trust, no guest.
        let credentials = try #require(try SandboxCredentials.load(home: home))
        #expect(credentials.postgresPassword.count == 32 && credentials.amqpPassword.count == 32)
        #expect(endpoints.postgresURL.hasPrefix("postgresql://racelab:\(credentials.postgresPassword)@127.0.0.1:"))
        #expect(endpoints.postgresURL.hasSuffix("/racelab"))
        #expect(endpoints.amqpURL.hasPrefix("amqp://racelab:\(credentials.amqpPassword)@127.0.0.1:"))
        var attributes = stat()
        #expect(stat(home.path + "/credentials.json", &attributes) == 0 && attributes.st_mode & 0o777 == 0o600)
        try probes.postgres(endpoints.postgresURL)
        try probes.amqp(endpoints.amqpURL)
        let withoutPassword = endpoints.postgresURL.replacingOccurrences(of: ":\(credentials.postgresPassword)@", with: "@")
        #expect(throws: SandboxError.self) { try probes.postgres(withoutPassword) }
        #expect(throws: SandboxError.self) { try probes.postgres(withoutPassword.replacingOccurrences(of: "racelab@", with: "postgres@")) }
        let state = SandboxState.load(from: home.appendingPathComponent("sandbox.json"))
        let rabbitGroup = try #require(state.rabbitmq?.processGroup)
        #expect(state.runtimeDirectory == home.path)

        // Another Sandbox on the same home (as another process would) reuses the running servers.
        let again = try Sandbox(home: home, logger: logger).up(probes: probes)
        #expect(again == endpoints)
        #expect(SandboxState.load(from: home.appendingPathComponent("sandbox.json")).rabbitmq?.processGroup == rabbitGroup)
        let running = sandbox.status(probes: probes)
        #expect(running.postgres == .init(isRunning: true, url: endpoints.postgresURL))
        #expect(running.rabbitmq == .init(isRunning: true, url: endpoints.amqpURL))

        try sandbox.down()
        let stopped = sandbox.status(probes: probes)
        #expect(!stopped.postgres.isRunning)
        #expect(!stopped.rabbitmq.isRunning)
        #expect(!ProcessRunner.isGroupAlive(rabbitGroup))
        #expect(!FileManager.default.fileExists(atPath: home.path + "/postgres/data/postmaster.pid"))
        let epmdPort = try #require(state.rabbitmq?.epmdPort)
        #expect(FreePort.isFree(epmdPort), "the private epmd must stop with the node")

        // Data survives: PostgreSQL starts again on the same cluster.
        let restarted = try sandbox.up(rabbitmq: false, probes: probes)
        try probes.postgres(restarted.postgresURL)
    }

    @Test(.enabled(if: ProcessRunner.isRoot, "needs root: it checks the fallback for homes the server users cannot reach"))
    func homeTheServerUsersCannotReachFallsBackToTmp() throws {
        // /root is mode 700: the postgres user cannot traverse it.
        let parent = URL(fileURLWithPath: "/root/.cache/racelab-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: parent.path)
        let home = parent.appendingPathComponent(".racelab")
        let sandbox = Sandbox(home: home, logger: logger)
        let fallback = Sandbox.fallbackDirectory(for: home.path)
        defer {
            _ = try? sandbox.down()
            try? FileManager.default.removeItem(at: parent)
            try? FileManager.default.removeItem(atPath: fallback)
        }
        let endpoints = try sandbox.up(rabbitmq: false, probes: TestProbes.make())
        try TestProbes.postgres(endpoints.postgresURL)
        #expect(endpoints.amqpURL == "")
        let state = SandboxState.load(from: home.appendingPathComponent("sandbox.json"))
        #expect(state.runtimeDirectory == fallback)
        #expect(state.postgres?.dataDirectory == fallback + "/postgres/data")
    }
}
