import Foundation
import Logging

/// A private RabbitMQ node under the sandbox, started detached with `rabbitmq-server`.
///
/// Everything the node writes lives in `config.baseDirectory`: mnesia, the Erlang
/// cookie (HOME), an empty plugin list (no management plugin: it boots faster) and one log file
/// with the server's console output. The node talks to a private epmd on its own port, so it never
/// clashes with a system RabbitMQ or another sandbox. When we are root the node runs as `user`,
/// and the files we write into its directory are written without following links (``SafeFile``).
/// The node's only user is the sandbox's generated one (`default_user` on its first boot: there is
/// no `guest`), and it refuses messages over ``maxMessageBytes``. All calls block.
struct RabbitMQServer {
    var config: SandboxState.RabbitMQ
    /// The account the node runs as when we are root; nil when we are not.
    var user: SystemUser?
    var runner: ProcessRunner
    var credentials: SandboxCredentials

    var logger: Logger { runner.logger }

    /// The URL clients connect with.
    var url: String { Self.url(port: config.port, credentials: credentials) }

    static func url(port: Int, credentials: SandboxCredentials) -> String {
        "amqp://\(credentials.amqpUser):\(credentials.amqpPassword)@127.0.0.1:\(port)/%2f"
    }

    /// The largest message the node accepts (`max_message_size`): a 100 MB message is refused at the
    /// broker instead of being read whole by a worker and copied whole into the dead-letter queue.
    static let maxMessageBytes = 1 << 20

    /// The sandbox directory the node's directory is in (ours): where safe writes start.
    private var trustedRoot: String { URL(fileURLWithPath: config.baseDirectory).deletingLastPathComponent().path }

    /// The node's settings; `default_user`/`default_pass` create its only user on its first boot.
    var settings: String {
        """
        # Written by the RaceLab sandbox on every start (see Sources/Sandbox/RabbitMQServer.swift).
        default_user = \(credentials.amqpUser)
        default_pass = \(credentials.amqpPassword)
        max_message_size = \(Self.maxMessageBytes)

        """
    }

    var pidFile: String { config.baseDirectory + "/rabbitmq.pid" }

    /// The `rabbitmq-server` script: `$RACELAB_RABBITMQ_BINDIR/rabbitmq-server`, else Debian's real
    /// script (not the /usr/sbin wrapper, which switches user with `su` and changes directory),
    /// else the one on PATH.
    static func findServer() throws -> String {
        let fileManager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["RACELAB_RABBITMQ_BINDIR"], !override.isEmpty {
            let path = override + "/rabbitmq-server"
            guard fileManager.isExecutableFile(atPath: path) else {
                throw SandboxError("RACELAB_RABBITMQ_BINDIR=\(override) holds no rabbitmq-server")
            }
            return path
        }
        if fileManager.isExecutableFile(atPath: "/usr/lib/rabbitmq/bin/rabbitmq-server") {
            return "/usr/lib/rabbitmq/bin/rabbitmq-server"
        }
        if let found = ProcessRunner.executable(named: "rabbitmq-server") { return found }
        throw SandboxError("RabbitMQ is not installed (no rabbitmq-server found); run scripts/setup or set RACELAB_AMQP_URL")
    }

    /// Whether our node's process group (runuser, the script, the Erlang VM) is alive.
    func isRunning() -> Bool {
        guard let group = config.processGroup, ProcessRunner.isGroupAlive(group) else { return false }
        // After a reboot the recorded group id may belong to someone else: the leader's command line
        // (runuser … env RABBITMQ_NODENAME=…) or environment names our node.
        let marks = ["cmdline", "environ"].compactMap { try? String(contentsOfFile: "/proc/\(group)/\($0)", encoding: .utf8) }
        return marks.isEmpty || marks.contains { $0.contains(config.nodeName) }
    }

    /// Writes the node's files and starts it in its own session; returns at once.
    /// Wait for it with the caller's probe, watching the returned child: if that exits, the node died.
    func start(serverScript: String) throws -> ChildProcess {
        let fileManager = FileManager.default
        let base = config.baseDirectory
        var home = ObjCBool(false)
        if !fileManager.fileExists(atPath: base + "/home", isDirectory: &home) {
            do {
                try fileManager.createDirectory(atPath: base + "/home", withIntermediateDirectories: false)
            } catch {
                throw SandboxError("cannot prepare \(base): \(error.localizedDescription)")
            }
        }
        try SafeFile.replace(base + "/enabled_plugins", below: trustedRoot, contents: "[].\n", owner: user)
        try SafeFile.replace(base + "/rabbitmq.conf", below: trustedRoot, contents: settings, mode: 0o600, owner: user)
        try SafeFile.replace(base + "/rabbitmq-env.conf", below: trustedRoot, contents: "", owner: user)
        try SafeFile.createIfMissing(config.logFile, below: trustedRoot, owner: user)
        try user?.own(base, recursive: true)
        logger.notice(
            "Starting RabbitMQ",
            metadata: ["sandbox.port": "\(config.port)", "sandbox.node": "\(config.nodeName)", "sandbox.base": "\(base)"]
        )
        let command = Command(executable: serverScript, arguments: [], environment: environment, user: user?.name, directory: base)
        return try runner.spawnDetached(command, logFile: config.logFile)
    }

    /// Stops a node that `start` launched but that never became ready: its whole process group
    /// (runuser, the script, the VM), then the private epmd.
    func abandon(_ child: ChildProcess) {
        ProcessRunner.terminate(pid: child.pid, group: true, timeout: 20)
        _ = child.wait(timeout: 1)
        stopPrivateEPMD()
    }

    /// Stops the node (SIGTERM makes RabbitMQ shut down cleanly), waits until it is gone, then stops
    /// the private epmd the node started. No error if nothing runs.
    func stop(timeout: Double) throws {
        if isRunning(), let group = config.processGroup {
            logger.info("Stopping RabbitMQ", metadata: ["sandbox.port": "\(config.port)", "sandbox.group": "\(group)"])
            // SIGTERM to the group: the VM shuts down cleanly, the script and runuser follow.
            guard ProcessRunner.terminate(pid: group, group: true, timeout: timeout) else {
                throw SandboxError("RabbitMQ (process group \(group)) did not stop within \(Int(timeout)) s; see \(config.logFile)")
            }
        }
        stopPrivateEPMD()
    }

    /// Makes the node close every client connection, as a broker failing over would (`rabbitmqctl
    /// close_all_connections`), or only those on `vhost`. For fault-injection tests; the node keeps running.
    func closeAllConnections(reason: String, vhost: String? = nil) throws {
        try control(["close_all_connections"] + (vhost.map { ["-p", $0] } ?? []) + [reason])
    }

    /// Adds the virtual host `name` unless it exists, and gives `user` every permission on it
    /// (`rabbitmqctl add_vhost`, `set_permissions`). Idempotent.
    func addVirtualHost(_ name: String, for user: String) throws {
        do {
            try control(["add_vhost", name])
        } catch let error as SandboxError where error.message.contains("already exists") || error.message.contains("already_exists") {
            // Made by an earlier call: the permissions are set again below, which is harmless.
        }
        try control(["set_permissions", "-p", name, user, ".*", ".*", ".*"])
    }

    /// Runs `rabbitmqctl arguments…` against the node, as the node's user. Blocks (an Erlang VM
    /// starts for every call: a second or two).
    /// - Throws: `SandboxError` with rabbitmqctl's output when it fails.
    private func control(_ arguments: [String]) throws {
        let control = URL(fileURLWithPath: try Self.findServer()).deletingLastPathComponent().appendingPathComponent("rabbitmqctl").path
        let command = Command(
            executable: control,
            arguments: ["-n", config.nodeName] + arguments,
            environment: environment,
            user: user?.name,
            directory: config.baseDirectory
        )
        let outcome = try runner.run(command, timeout: 30)
        guard outcome.succeeded else {
            throw SandboxError("rabbitmqctl \(arguments.first ?? "") failed: \(outcome.output)")
        }
    }

    /// Stops the epmd on our private port. epmd refuses to die while a node is registered with it,
    /// so this can never break a live node, ours or anyone's.
    func stopPrivateEPMD() {
        guard let epmd = Self.findEPMD() else { return }
        let command = Command(
            executable: epmd,
            arguments: ["-port", "\(config.epmdPort)", "-kill"],
            environment: ["ERL_EPMD_PORT": "\(config.epmdPort)"]
        )
        _ = try? runner.run(command, timeout: 10)
    }

    /// The environment that makes `rabbitmq-server` a private, loopback-only node.
    var environment: [String: String] {
        let base = config.baseDirectory
        return [
            "HOME": base + "/home",
            "RABBITMQ_NODENAME": config.nodeName,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": "\(config.port)",
            "RABBITMQ_DIST_PORT": "\(config.distributionPort)",
            "ERL_EPMD_PORT": "\(config.epmdPort)",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": base + "/mnesia",
            "RABBITMQ_LOG_BASE": base + "/log",
            // "-": the server logs to its console, which spawnDetached sends to config.logFile.
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_ENABLED_PLUGINS_FILE": base + "/enabled_plugins",
            "RABBITMQ_PID_FILE": pidFile,
            "RABBITMQ_CONFIG_FILE": base + "/rabbitmq.conf",
            "RABBITMQ_ADVANCED_CONFIG_FILE": base + "/advanced.config",
            // Keeps /etc/rabbitmq/rabbitmq-env.conf (a system node's NODENAME, ports) out of ours.
            "RABBITMQ_CONF_ENV_FILE": base + "/rabbitmq-env.conf",
            // Erlang distribution (used only by rabbitmqctl) on loopback too, not on every interface.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        ]
    }

    private static func findEPMD() -> String? {
        if let found = ProcessRunner.executable(named: "epmd") { return found }
        let erts = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/erlang")) ?? [])
            .filter { $0.hasPrefix("erts-") }
            .sorted(by: >)
        return erts.map { "/usr/lib/erlang/\($0)/bin/epmd" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
