import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs commands with a deadline and captures their output, or starts long-lived servers detached.
///
/// Output goes to files, never to our stdout (`racelab up` prints only export lines there), and
/// never through pipes, so a chatty child cannot block on a full pipe while we wait for it.
/// All calls block the calling thread; every wait has a deadline.
struct ProcessRunner {
    /// How a finished command ended.
    struct Outcome: Sendable {
        var status: Int32
        /// stdout and stderr interleaved.
        var output: String
        var succeeded: Bool { status == 0 }
    }

    var logger: Logger

    /// Whether we run as root and must switch users for the servers.
    static var isRoot: Bool { geteuid() == 0 }

    /// Runs `command` to completion, capturing its output.
    /// - Throws: `SandboxError` if it cannot start or does not finish within `timeout` seconds
    ///   (it is then killed). A non-zero exit status is not an error: look at `Outcome.status`.
    func run(_ command: Command, timeout: Double) throws -> Outcome {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("racelab-\(getpid())-\(UUID().uuidString).out").path
        let output = open(outputPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else {
            throw SandboxError("cannot create \(outputPath): \(String(cString: strerror(errno)))")
        }
        defer {
            close(output)
            unlink(outputPath)
        }
        logger.debug("Running command", metadata: ["sandbox.command": "\(command.display)"])
        let child = try spawn(command, output: output, newSession: false)
        let finished = child.wait(timeout: timeout)
        if !finished {
            child.signal(SIGTERM, group: false)
            if !child.wait(timeout: 3) {
                child.signal(SIGKILL, group: false)
                _ = child.wait(timeout: 3)
            }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard finished else {
            throw SandboxError("\(command.display) did not finish within \(Int(timeout)) s and was killed")
        }
        return Outcome(status: child.exitStatus ?? -1, output: text)
    }

    /// Runs `command` and throws unless it exits 0; the error carries the last line of its output.
    @discardableResult
    func check(_ command: Command, timeout: Double) throws -> String {
        let outcome = try run(command, timeout: timeout)
        guard outcome.succeeded else {
            let lastLine = outcome.output.split(whereSeparator: \.isNewline).last.map(String.init) ?? "no output"
            throw SandboxError("\(command.display) failed with status \(outcome.status): \(lastLine)")
        }
        return outcome.output
    }

    /// Starts a long-lived server in a new session (so it outlives us and our terminal's signals),
    /// with stdin from /dev/null and stdout/stderr appended to `logFile`.
    /// - Returns: the started child (its pid may be a wrapper such as `runuser`; it leads the
    ///   server's process group).
    func spawnDetached(_ command: Command, logFile: String) throws -> ChildProcess {
        // The log may sit in a directory the server's account owns: never through a link planted there.
        let log = try SafeFile.openForAppending(logFile)
        defer { close(log) }
        logger.debug("Starting server", metadata: ["sandbox.command": "\(command.display)"])
        return try spawn(command, output: log, newSession: true)
    }

    private func spawn(_ command: Command, output: Int32, newSession: Bool) throws -> ChildProcess {
        var argv = command.argv(asRoot: Self.isRoot)
        guard let first = argv.first else { throw SandboxError("empty command") }
        if !first.hasPrefix("/") {
            guard let found = Self.executable(named: first) else {
                throw SandboxError("\(first) not found on PATH (needed to run \(command.display))")
            }
            argv[0] = found
        }
        var environment = ProcessInfo.processInfo.environment
        environment.merge(command.environment) { _, new in new }
        return try ChildProcess(argv: argv, environment: environment, directory: command.directory, output: output, newSession: newSession)
    }

    /// Whether a process with this pid exists and is not a zombie (an exited process nobody reaped
    /// yet; in containers whose init does not reap, those linger).
    static func isAlive(pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let stat = ProcessStat(pid: pid) { return !stat.isZombie }
        return true
    }

    /// Whether any live (non-zombie) process is in process group `group`.
    static func isGroupAlive(_ group: Int32) -> Bool {
        guard group > 0, kill(-group, 0) == 0 || errno == EPERM else { return false }
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        return pids.compactMap(Int32.init).contains { pid in
            guard let stat = ProcessStat(pid: pid) else { return false }
            return stat.group == group && !stat.isZombie
        }
    }

    /// Sends SIGTERM to `pid` (or, with `group`, to its whole process group) and waits up to
    /// `timeout` seconds for it to go, then SIGKILL.
    /// - Returns: whether it is gone.
    @discardableResult
    static func terminate(pid: Int32, group: Bool = false, timeout: Double) -> Bool {
        let alive = { group ? isGroupAlive(pid) : isAlive(pid: pid) }
        let target = group ? -pid : pid
        guard alive() else { return true }
        _ = kill(target, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while alive(), Date() < deadline { usleep(50_000) }
        if alive() {
            _ = kill(target, SIGKILL)
            let killDeadline = Date().addingTimeInterval(5)
            while alive(), Date() < killDeadline { usleep(50_000) }
        }
        return !alive()
    }

    /// The full path of `name`, searched in PATH and then the usual system directories.
    static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories =
            path.split(separator: ":").map(String.init) + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}

/// The fields of /proc/PID/stat we need (Linux only; nil elsewhere or when the process is gone).
struct ProcessStat {
    var state: Character
    var group: Int32
    var isZombie: Bool { state == "Z" || state == "X" }

    init?(pid: Int32) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after the last ')'.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let state = fields[0].first, let group = Int32(fields[2]) else { return nil }
        self.state = state
        self.group = group
    }
}
