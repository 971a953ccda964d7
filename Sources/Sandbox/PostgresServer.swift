import Foundation
import Logging

/// A private PostgreSQL cluster under the sandbox: initdb on first use, then pg_ctl start/stop.
///
/// Listens on 127.0.0.1 only, without a Unix socket (a long home path would overflow its 107-byte
/// limit), password authentication (scram-sha-256) for role `racelab` with the sandbox's generated
/// password and no one else, database `racelab`, `fsync` left on because the lab measures real
/// commits. When we are root every server-side command runs as `user`, and the files we write into
/// its directories are written without following links (``SafeFile``). All calls block.
struct PostgresServer {
    var config: SandboxState.Postgres
    /// The account the cluster runs as when we are root; nil when we are not.
    var user: SystemUser?
    var runner: ProcessRunner
    var credentials: SandboxCredentials

    var logger: Logger { runner.logger }

    /// The URL clients connect with.
    var url: String { Self.url(port: config.port, credentials: credentials) }

    static func url(port: Int, credentials: SandboxCredentials) -> String {
        "postgresql://racelab:\(credentials.postgresPassword)@127.0.0.1:\(port)/racelab"
    }

    /// The sandbox directory the cluster's directories are in (ours): where safe writes start.
    private var trustedRoot: String {
        URL(fileURLWithPath: config.dataDirectory).deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// Only the role `racelab`, only with its password, only over loopback TCP (there is no socket).
    static let hostBasedAuthentication = """
        # Written by the RaceLab sandbox on every start: the role racelab with its password, over loopback only.
        host  all  racelab  127.0.0.1/32  scram-sha-256
        host  all  racelab  ::1/128       scram-sha-256

        """

    /// The directory holding initdb, pg_ctl and psql.
    ///
    /// `RACELAB_PG_BINDIR` if set, else `pg_config --bindir` when it holds the server binaries
    /// (on Debian pg_config comes with libpq-dev and may name a version without a server), else the
    /// highest /usr/lib/postgresql/N/bin, else wherever `initdb` is on PATH.
    /// - Throws: `SandboxError` telling the user to install PostgreSQL.
    static func findBinDirectory(runner: ProcessRunner) throws -> String {
        let fileManager = FileManager.default
        func hasServer(_ directory: String) -> Bool {
            fileManager.isExecutableFile(atPath: directory + "/initdb") && fileManager.isExecutableFile(atPath: directory + "/pg_ctl")
        }
        if let override = ProcessInfo.processInfo.environment["RACELAB_PG_BINDIR"], !override.isEmpty {
            guard hasServer(override) else {
                throw SandboxError("RACELAB_PG_BINDIR=\(override) holds no initdb and pg_ctl")
            }
            return override
        }
        if ProcessRunner.executable(named: "pg_config") != nil,
            let output = try? runner.run(Command(executable: "pg_config", arguments: ["--bindir"]), timeout: 15),
            output.succeeded
        {
            let directory = output.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if hasServer(directory) { return directory }
        }
        let versions = ((try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init)
            .sorted(by: >)
        for version in versions where hasServer("/usr/lib/postgresql/\(version)/bin") {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        if let initdb = ProcessRunner.executable(named: "initdb") {
            let directory = URL(fileURLWithPath: initdb).resolvingSymlinksInPath().deletingLastPathComponent().path
            if hasServer(directory) { return directory }
        }
        throw SandboxError("PostgreSQL is not installed (no initdb found); run scripts/setup or set RACELAB_POSTGRES_URL")
    }

    /// Whether the cluster in our data directory is running (`pg_ctl status`).
    func isRunning() -> Bool {
        guard FileManager.default.fileExists(atPath: config.dataDirectory + "/PG_VERSION") else { return false }
        let status = try? runner.run(serverCommand("pg_ctl", ["-D", config.dataDirectory, "status"]), timeout: 15)
        return status?.succeeded ?? false
    }

    /// Creates the cluster if needed, writes the settings, starts it and creates database `racelab`.
    /// - Throws: `SandboxError` naming the log file when anything fails or takes longer than `timeout`.
    func start(timeout: Double) throws {
        try initializeIfNeeded()
        try writeSettings()
        logger.notice("Starting PostgreSQL", metadata: ["sandbox.port": "\(config.port)", "sandbox.data": "\(config.dataDirectory)"])
        let start = serverCommand("pg_ctl", ["-D", config.dataDirectory, "-l", config.logFile, "-w", "-t", "\(Int(timeout))", "-s", "start"])
        let outcome: ProcessRunner.Outcome
        do {
            outcome = try runner.run(start, timeout: timeout + 15)
        } catch {
            throw SandboxError("PostgreSQL did not start within \(Int(timeout)) s; see \(config.logFile)")
        }
        guard outcome.succeeded else {
            throw SandboxError("PostgreSQL did not start; see \(config.logFile)\(lastLine(of: config.logFile, or: outcome.output))")
        }
        try createDatabaseIfNeeded()
    }

    /// Stops the cluster with a fast shutdown (aborts sessions, keeps data) and waits until it is gone.
    /// No error if it is not running.
    func stop(timeout: Double) throws {
        guard isRunning() else { return }
        logger.info("Stopping PostgreSQL", metadata: ["sandbox.port": "\(config.port)"])
        let stop = serverCommand("pg_ctl", ["-D", config.dataDirectory, "-m", "fast", "-w", "-t", "\(Int(timeout))", "-s", "stop"])
        let outcome = try runner.run(stop, timeout: timeout + 15)
        if !outcome.succeeded, isRunning() {
            throw SandboxError("PostgreSQL did not stop within \(Int(timeout)) s; see \(config.logFile)")
        }
    }

    private func initializeIfNeeded() throws {
        let fileManager = FileManager.default
        guard !fileManager.fileExists(atPath: config.dataDirectory + "/PG_VERSION") else { return }
        // A directory left by an initdb that died half way would make the next initdb refuse.
        try? fileManager.removeItem(atPath: config.dataDirectory)
        logger.info("Creating PostgreSQL cluster", metadata: ["sandbox.data": "\(config.dataDirectory)"])
        // The password reaches initdb in a file only the cluster's account can read, removed at once.
        let passwordFile = trustedRoot + "/postgres/initdb-password"
        try SafeFile.replace(passwordFile, below: trustedRoot, contents: credentials.postgresPassword + "\n", mode: 0o600, owner: user)
        defer { try? FileManager.default.removeItem(atPath: passwordFile) }
        let initdb = serverCommand(
            "initdb",
            [
                "-D", config.dataDirectory, "--auth=scram-sha-256", "--pwfile=\(passwordFile)", "-U", "racelab", "-E", "UTF8", "--locale=C",
                "--no-instructions",
            ]
        )
        let outcome = try runner.run(initdb, timeout: 180)
        guard outcome.succeeded else {
            throw SandboxError("initdb failed for \(config.dataDirectory)\(lastLine(of: nil, or: outcome.output))")
        }
        let conf = config.dataDirectory + "/postgresql.conf"
        let generated = (try? String(contentsOfFile: conf, encoding: .utf8)) ?? ""
        try SafeFile.replace(
            conf,
            below: trustedRoot,
            contents: generated + "\n# RaceLab sandbox settings, rewritten on every start\ninclude_if_exists = 'racelab.conf'\n",
            mode: 0o600,
            owner: user
        )
    }

    private func writeSettings() throws {
        let settings = """
            # Written by the RaceLab sandbox on every start; edit postgresql.conf for your own settings.
            listen_addresses = '127.0.0.1'
            port = \(config.port)
            unix_socket_directories = ''
            max_connections = 300
            fsync = on
            logging_collector = off
            log_destination = 'stderr'
            password_encryption = 'scram-sha-256'

            """
        try SafeFile.replace(config.dataDirectory + "/racelab.conf", below: trustedRoot, contents: settings, mode: 0o600, owner: user)
        try SafeFile.replace(
            config.dataDirectory + "/pg_hba.conf",
            below: trustedRoot,
            contents: Self.hostBasedAuthentication,
            mode: 0o600,
            owner: user
        )
    }

    private func createDatabaseIfNeeded() throws {
        let connection = ["-h", "127.0.0.1", "-p", "\(config.port)", "-U", "racelab"]
        let query = clientCommand("psql", connection + ["-d", "postgres", "-tAc", "SELECT 1 FROM pg_database WHERE datname = 'racelab'"])
        let exists = try runner.check(query, timeout: 30)
        guard exists.trimmingCharacters(in: .whitespacesAndNewlines) != "1" else { return }
        logger.info("Creating database racelab", metadata: ["sandbox.port": "\(config.port)"])
        try runner.check(clientCommand("createdb", connection + ["racelab"]), timeout: 30)
    }

    /// A command that touches the data directory, so it runs as the cluster's owner.
    private func serverCommand(_ program: String, _ arguments: [String]) -> Command {
        Command(
            executable: config.binDirectory + "/" + program,
            arguments: arguments,
            environment: ["LC_ALL": "C"],
            user: user?.name,
            directory: URL(fileURLWithPath: config.dataDirectory).deletingLastPathComponent().path
        )
    }

    /// A client command over TCP; it runs as us.
    private func clientCommand(_ program: String, _ arguments: [String]) -> Command {
        Command(
            executable: config.binDirectory + "/" + program,
            arguments: arguments,
            // The password in the environment, which other users cannot read (/proc/PID/environ is private).
            environment: ["PGCONNECT_TIMEOUT": "10", "PGSSLMODE": "disable", "PGPASSWORD": credentials.postgresPassword]
        )
    }

    private func lastLine(of file: String?, or fallback: String) -> String {
        let text = file.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? fallback
        let line = text.split(whereSeparator: \.isNewline).last.map(String.init) ?? fallback.split(whereSeparator: \.isNewline).last.map(String.init)
        return line.map { " (\($0.trimmingCharacters(in: .whitespaces)))" } ?? ""
    }
}
