import ContentHash
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The embedded default: a private PostgreSQL and RabbitMQ on free loopback ports under a home
/// directory (`.racelab/` unless told otherwise), reused by every later call, from any process.
///
/// `home/sandbox.json` records ports, directories and pids; `home/lock` serialises processes.
/// When we are root the servers run as their own users (`postgres`, `rabbitmq`); if those users
/// cannot reach the home (a clone under /root), the servers' files go to `/tmp/racelab-<hash>/`.
///
/// A `Sandbox` owns files and processes: use it from one thread. Every call blocks, and every wait
/// has a deadline (`startTimeout` per server).
public final class Sandbox {
    /// The directory holding `sandbox.json`, the lock and (usually) the servers' files.
    public let home: URL
    /// How long each server may take to answer its probe after starting, in seconds.
    public var startTimeout: Double = 60
    private let logger: Logger
    /// Servers this object started; polled after `down` so they do not linger as zombies.
    private var children: [ChildProcess] = []

    private var runner: ProcessRunner { ProcessRunner(logger: logger) }
    private var stateFile: URL { home.appendingPathComponent("sandbox.json") }

    /// `$RACELAB_HOME` if set (relative paths resolve against the current directory), else
    /// `./.racelab`, as an absolute URL.
    public static func defaultHome() -> URL {
        defaultHome(environment: ProcessInfo.processInfo.environment, currentDirectory: FileManager.default.currentDirectoryPath)
    }

    static func defaultHome(environment: [String: String], currentDirectory: String) -> URL {
        let base = URL(fileURLWithPath: currentDirectory, isDirectory: true)
        if let configured = environment["RACELAB_HOME"], !configured.isEmpty {
            let url =
                configured.hasPrefix("/")
                ? URL(fileURLWithPath: configured, isDirectory: true) : base.appendingPathComponent(configured, isDirectory: true)
            return url.standardizedFileURL
        }
        return base.appendingPathComponent(".racelab", isDirectory: true).standardizedFileURL
    }

    /// A sandbox rooted at `home`; nothing happens until `up`, `down` or `status`.
    public init(home: URL, logger: Logger) {
        self.home = home.standardizedFileURL
        self.logger = logger
    }

    /// Starts whichever server is not already running under `home`, reusing ones that answer, waits
    /// until each answers its probe, and returns their URLs.
    ///
    /// Blocks up to `startTimeout` seconds per server (plus a first-time initdb). Safe to call from
    /// several processes at once: they serialise on `home/lock`.
    /// - Throws: `SandboxError` naming what is missing or which log to read.
    public func up(postgres: Bool = true, rabbitmq: Bool = true, probes: SandboxProbes) throws -> SandboxEndpoints {
        try createHome()
        let lock = try FileLock(path: home.appendingPathComponent("lock").path, timeout: 300)
        defer { lock.unlock() }
        var state = SandboxState.load(from: stateFile)
        let runtime = try runtimeDirectory(&state)
        try state.save(to: stateFile)
        let (credentials, created) = try SandboxCredentials.loadOrCreate(home: home)
        if created {
            // Servers made with other passwords (their credentials file is gone) are made again.
            state.postgres?.passwordAuthentication = nil
            state.rabbitmq?.generatedUser = nil
        }

        // RabbitMQ boots slowest, so it starts first and PostgreSQL comes up while it boots.
        var starting: (server: RabbitMQServer, child: ChildProcess?)?
        if rabbitmq {
            starting = try beginRabbitMQ(&state, runtime: runtime, credentials: credentials)
            try state.save(to: stateFile)
        }
        do {
            if postgres {
                try upPostgres(&state, runtime: runtime, credentials: credentials, probe: probes.postgres)
                try state.save(to: stateFile)
            }
        } catch {
            if let starting, let child = starting.child { starting.server.abandon(child) }
            throw error
        }
        if let starting {
            try finishRabbitMQ(starting.server, child: starting.child, probe: probes.amqp)
            try state.save(to: stateFile)
        }
        return endpoints(state, credentials: credentials)
    }

    /// Stops the servers started under `home` (fast shutdown; waits until they are gone) and keeps
    /// their data. No error if nothing runs. Pass `false` to leave one running (a restart of the other).
    /// - Throws: `SandboxError` if a server does not stop within 60 s.
    /// - Returns: what was stopped, e.g. `["RabbitMQ on port 5672"]`; empty when nothing ran.
    @discardableResult
    public func down(postgres: Bool = true, rabbitmq: Bool = true) throws -> [String] {
        guard FileManager.default.fileExists(atPath: stateFile.path) else { return [] }
        var stopped: [String] = []
        let lock = try FileLock(path: home.appendingPathComponent("lock").path, timeout: 300)
        defer { lock.unlock() }
        var state = SandboxState.load(from: stateFile)
        var failures: [Error] = []
        if rabbitmq, let config = state.rabbitmq {
            do {
                let server = RabbitMQServer(config: config, user: Self.serverUser("rabbitmq"), runner: runner, credentials: .unknown)
                if server.isRunning() { stopped.append("RabbitMQ on port \(config.port)") }
                try server.stop(timeout: 60)
                state.rabbitmq?.processGroup = nil
            } catch {
                failures.append(error)
            }
        }
        if postgres, let config = state.postgres {
            do {
                let server = PostgresServer(config: config, user: Self.serverUser("postgres"), runner: runner, credentials: .unknown)
                if server.isRunning() { stopped.append("PostgreSQL on port \(config.port)") }
                try server.stop(timeout: 60)
            } catch {
                failures.append(error)
            }
        }
        try state.save(to: stateFile)
        children.removeAll { $0.wait(timeout: 1) }
        if let first = failures.first { throw first }
        return stopped
    }

    /// Makes the sandbox's RabbitMQ close every client connection (the node keeps running), or only
    /// those on `vhost`, for fault-injection tests. Blocks until `rabbitmqctl` is done.
    /// - Throws: `SandboxError` when no RabbitMQ runs under `home` or rabbitmqctl fails.
    public func closeAMQPConnections(reason: String, vhost: String? = nil) throws {
        try runningRabbitMQ(credentials: .unknown).closeAllConnections(reason: reason, vhost: vhost)
    }

    /// Adds the virtual host `name` to the sandbox's RabbitMQ unless it exists, open to the sandbox's
    /// user: a private corner of the broker (tests give each suite one). Blocks until `rabbitmqctl` is done.
    /// - Throws: `SandboxError` when no RabbitMQ runs under `home` or rabbitmqctl fails.
    public func addVirtualHost(_ name: String) throws {
        guard let credentials = try SandboxCredentials.load(home: home) else {
            throw SandboxError("no sandbox credentials under \(home.path); run racelab up")
        }
        try runningRabbitMQ(credentials: credentials).addVirtualHost(name, for: credentials.amqpUser)
    }

    private func runningRabbitMQ(credentials: SandboxCredentials) throws -> RabbitMQServer {
        guard let config = SandboxState.load(from: stateFile).rabbitmq else {
            throw SandboxError("no RabbitMQ runs under \(home.path)")
        }
        return RabbitMQServer(config: config, user: Self.serverUser("rabbitmq"), runner: runner, credentials: credentials)
    }

    /// What runs under `home`: for each server, whether it answers its probe now and its URL.
    /// Takes no lock and starts nothing.
    public func status(probes: SandboxProbes) -> SandboxStatus {
        let state = SandboxState.load(from: stateFile)
        let credentials = (try? SandboxCredentials.load(home: home)) ?? .unknown
        let postgresURL = state.postgres.map { PostgresServer.url(port: $0.port, credentials: credentials) }
        let amqpURL = state.rabbitmq.map { RabbitMQServer.url(port: $0.port, credentials: credentials) }
        return SandboxStatus(
            postgres: .init(isRunning: postgresURL.map { (try? probes.postgres($0)) != nil } ?? false, url: postgresURL),
            rabbitmq: .init(isRunning: amqpURL.map { (try? probes.amqp($0)) != nil } ?? false, url: amqpURL)
        )
    }

    // MARK: - PostgreSQL

    private func upPostgres(
        _ state: inout SandboxState,
        runtime: String,
        credentials: SandboxCredentials,
        probe: @Sendable (String) throws -> Void
    ) throws {
        let binDirectory = try PostgresServer.findBinDirectory(runner: runner)
        let directory = runtime + "/postgres"
        var config =
            state.postgres
            ?? SandboxState.Postgres(
                port: 0,
                dataDirectory: directory + "/data",
                logFile: directory + "/postgres.log",
                binDirectory: binDirectory
            )
        config.binDirectory = binDirectory
        let user = Self.serverUser("postgres")
        var server = PostgresServer(config: config, user: user, runner: runner, credentials: credentials)
        if state.postgres != nil, config.passwordAuthentication != true {
            // Made by an older RaceLab that trusted every local connection: made again, with a password.
            logger.notice(
                "Creating the sandbox PostgreSQL again, with password authentication",
                metadata: ["sandbox.data": "\(config.dataDirectory)"]
            )
            try server.stop(timeout: 60)
            try? FileManager.default.removeItem(atPath: config.dataDirectory)
        }
        config.passwordAuthentication = true
        server.config = config
        if server.isRunning() {
            logger.debug("Reusing PostgreSQL", metadata: ["sandbox.port": "\(config.port)"])
        } else {
            let taken = state.rabbitmq.map { [$0.port, $0.distributionPort, $0.epmdPort] } ?? []
            config.port = try Self.port(reusing: config.port, avoiding: taken)
            state.postgres = config
            server.config = config
            try makeDirectory(URL(fileURLWithPath: config.dataDirectory).deletingLastPathComponent().path, owner: user)
            try server.start(timeout: startTimeout)
        }
        state.postgres = config
        try waitUntil(probe, answers: server.url, name: "PostgreSQL", logFile: config.logFile, child: nil)
    }

    // MARK: - RabbitMQ

    private func beginRabbitMQ(
        _ state: inout SandboxState,
        runtime: String,
        credentials: SandboxCredentials
    ) throws -> (server: RabbitMQServer, child: ChildProcess?) {
        let script = try RabbitMQServer.findServer()
        let base = runtime + "/rabbitmq"
        var config =
            state.rabbitmq
            ?? SandboxState.RabbitMQ(
                port: 0,
                distributionPort: 0,
                epmdPort: 0,
                nodeName: "",
                baseDirectory: base,
                logFile: base + "/rabbitmq.log",
                processGroup: nil
            )
        var server = RabbitMQServer(config: config, user: Self.serverUser("rabbitmq"), runner: runner, credentials: credentials)
        if state.rabbitmq != nil, config.generatedUser != true {
            // Made by an older RaceLab with guest/guest: made again, so that its only user is the generated one.
            logger.notice(
                "Creating the sandbox RabbitMQ again, with a generated user instead of guest",
                metadata: ["sandbox.base": "\(config.baseDirectory)"]
            )
            try server.stop(timeout: 60)
            try? FileManager.default.removeItem(atPath: config.baseDirectory + "/mnesia")
        }
        config.generatedUser = true
        server.config = config
        if server.isRunning() {
            logger.debug("Reusing RabbitMQ", metadata: ["sandbox.port": "\(config.port)"])
            return (server, nil)
        }
        // An epmd left behind by a node that died would keep our old epmd port busy.
        if state.rabbitmq != nil { server.stopPrivateEPMD() }
        var taken = state.postgres.map { [$0.port] } ?? []
        config.port = try Self.port(reusing: config.port, avoiding: taken)
        taken.append(config.port)
        config.distributionPort = try Self.port(reusing: config.distributionPort, avoiding: taken)
        taken.append(config.distributionPort)
        config.epmdPort = try Self.port(reusing: config.epmdPort, avoiding: taken)
        if config.nodeName.isEmpty {
            // Unique per sandbox; kept across restarts because mnesia's directory is named after it.
            config.nodeName = "racelab-\(config.port)@localhost"
        }
        config.processGroup = nil
        server.config = config
        state.rabbitmq = config
        try makeDirectory(config.baseDirectory, owner: server.user)
        let child = try server.start(serverScript: script)
        children.append(child)
        // Recorded before waiting, so a later `down` finds the node even if we die meanwhile.
        config.processGroup = child.pid
        server.config = config
        state.rabbitmq = config
        return (server, child)
    }

    private func finishRabbitMQ(_ server: RabbitMQServer, child: ChildProcess?, probe: @Sendable (String) throws -> Void) throws {
        do {
            try waitUntil(probe, answers: server.url, name: "RabbitMQ", logFile: server.config.logFile, child: child)
        } catch {
            // Do not leave a half-started node behind for the next `up` to wait on again.
            if let child { server.abandon(child) }
            throw error
        }
    }

    // MARK: - Waiting

    /// Calls `probe` until it succeeds, `startTimeout` passes, or `child` (a server we just
    /// started) exits.
    private func waitUntil(
        _ probe: @Sendable (String) throws -> Void,
        answers url: String,
        name: String,
        logFile: String,
        child: ChildProcess?
    ) throws {
        let deadline = Date().addingTimeInterval(startTimeout)
        var lastError: Error?
        while true {
            do {
                try probe(url)
                logger.debug("Server answers", metadata: ["sandbox.server": "\(name)"])
                return
            } catch {
                lastError = error
            }
            if let child, child.hasExited {
                throw SandboxError("\(name) exited during startup (status \(child.exitStatus ?? -1)); see \(logFile)")
            }
            if Date() >= deadline {
                let reason = lastError.map { " (last probe error: \(String(describing: $0).split(whereSeparator: \.isNewline).first ?? ""))" } ?? ""
                throw SandboxError("\(name) did not start within \(Int(startTimeout)) s; see \(logFile)\(reason)")
            }
            usleep(250_000)
        }
    }

    // MARK: - Files, users, ports

    /// Where the servers' files go: the home when the server users can reach it, else a private
    /// directory under /tmp. Chosen once and recorded, so later calls find the same servers.
    private func runtimeDirectory(_ state: inout SandboxState) throws -> String {
        if let recorded = state.runtimeDirectory, FileManager.default.fileExists(atPath: recorded) {
            return recorded
        }
        let chosen = try chooseRuntimeDirectory()
        state.runtimeDirectory = chosen
        return chosen
    }

    private func chooseRuntimeDirectory() throws -> String {
        guard ProcessRunner.isRoot else { return home.path }
        if reachableByServerUsers(home.path) { return home.path }
        // Empty directories created by the probe above; the servers will not use them.
        for name in ["postgres", "rabbitmq"] { try? FileManager.default.removeItem(atPath: home.path + "/" + name) }
        let fallback = Self.fallbackDirectory(for: home.path)
        try makeDirectory(fallback, owner: nil)
        var attributes: stat = stat()
        // lstat: a symlink planted at the name (to a directory of root's) must not pass for ours.
        guard lstat(fallback, &attributes) == 0, attributes.st_mode & S_IFMT == S_IFDIR, attributes.st_uid == geteuid() else {
            throw SandboxError(
                "\(fallback) is not a directory of yours; remove it or set RACELAB_HOME to a directory the postgres and rabbitmq users can reach"
            )
        }
        _ = chmod(fallback, 0o755)
        guard reachableByServerUsers(fallback) else {
            throw SandboxError(
                "the postgres and rabbitmq users cannot reach \(home.path) nor \(fallback); set RACELAB_HOME to a directory they can reach"
            )
        }
        logger.info(
            "Server users cannot reach the home; using a directory under /tmp",
            metadata: ["sandbox.home": "\(home.path)", "sandbox.runtime": "\(fallback)"]
        )
        return fallback
    }

    /// Creates `directory/postgres` and `directory/rabbitmq` owned by their users and asks the
    /// kernel whether each user can write there (every ancestor must be searchable by it).
    private func reachableByServerUsers(_ directory: String) -> Bool {
        for name in ["postgres", "rabbitmq"] {
            let path = directory + "/" + name
            let user = Self.serverUser(name)
            guard (try? makeDirectory(path, owner: user)) != nil else { return false }
            if let user, !user.canWrite(path, runner: runner) { return false }
        }
        return true
    }

    /// `/tmp/racelab-<hash of home>`: stable for a home, distinct between homes.
    static func fallbackDirectory(for home: String) -> String {
        "/tmp/racelab-" + FNV1a.hex64(home)
    }

    /// The account a server runs as when we are root (`postgres`/`rabbitmq`, else `nobody`); nil
    /// when we are not root.
    static func serverUser(_ preferred: String) -> SystemUser? {
        guard ProcessRunner.isRoot else { return nil }
        return SystemUser.named(preferred) ?? SystemUser.named("nobody")
    }

    /// `previous` if it is set, free and not in `avoiding`; else a fresh free port not in `avoiding`.
    static func port(reusing previous: Int, avoiding: [Int]) throws -> Int {
        if previous > 0, !avoiding.contains(previous), FreePort.isFree(previous) { return previous }
        for _ in 0..<20 {
            let port = try FreePort.find()
            if !avoiding.contains(port) { return port }
        }
        throw SandboxError("cannot find a free TCP port on 127.0.0.1")
    }

    private func createHome() throws {
        do {
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        } catch {
            throw SandboxError("cannot create the sandbox home \(home.path): \(fileErrorCause(error))")
        }
    }

    private func makeDirectory(_ path: String, owner: SystemUser?) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw SandboxError("cannot create \(path): \(error.localizedDescription)")
        }
        try owner?.own(path)
    }

    private func endpoints(_ state: SandboxState, credentials: SandboxCredentials) -> SandboxEndpoints {
        SandboxEndpoints(
            postgresURL: state.postgres.map { PostgresServer.url(port: $0.port, credentials: credentials) } ?? "",
            amqpURL: state.rabbitmq.map { RabbitMQServer.url(port: $0.port, credentials: credentials) } ?? ""
        )
    }
}
