import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with posix_spawn, which we wait for (reap) ourselves: the one way the lab
/// starts programs (the servers' tools, local workers and API servers, pgbench).
///
/// Not Foundation's `Process`: on Linux it can keep reporting a child as running while a daemon the
/// child left behind (pg_ctl's postmaster) holds an inherited descriptor. With waitpid the answer is
/// exactly "has this pid exited". Owns the pid until it is reaped; use from one thread.
package final class ChildProcess {
    package let pid: pid_t
    /// The exit status, or 128 + the signal that ended it; nil while it runs.
    package private(set) var exitStatus: Int32?
    /// The signal that ended it, when one did.
    package private(set) var exitSignal: Int32?

    /// Spawns `argv` with `environment`, in `directory`, stdin from /dev/null and stdout and stderr
    /// to `output` (a descriptor we keep). With `newSession` the child leads a new session and
    /// process group, so terminal signals do not reach it and it outlives us.
    /// - Throws: `SandboxError` if the program cannot be started.
    package init(argv: [String], environment: [String: String], directory: String?, output: Int32, newSession: Bool) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        var argv = argv
        if let directory {
            if let addChdir = Self.addChdir {
                _ = addChdir(&actions, directory)
            } else {
                argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + argv
            }
        }
        // Nothing of ours but stdio reaches the child; above all not the sandbox lock. (Where
        // closefrom is missing we rely on our descriptors being close-on-exec.)
        if let addClosefrom = Self.addClosefrom {
            _ = addClosefrom(&actions, 3)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= Self.setsidFlag }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, argv[0], &actions, &attributes, arguments, variables)
        guard result == 0 else {
            throw SandboxError("cannot run \(argv[0]): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    // glibc declares these only under _GNU_SOURCE, which Swift's Glibc module does not set, so
    // they are looked up at run time; both are in glibc 2.34+ and macOS 10.15+ (addchdir).
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    #if canImport(Darwin)
    private static var defaultHandle: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: -2) }  // RTLD_DEFAULT
    #else
    private static var defaultHandle: UnsafeMutableRawPointer? { nil }  // RTLD_DEFAULT
    #endif

    private static var addChdir: AddChdir? {
        dlsym(Self.defaultHandle, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
    }

    private static var addClosefrom: AddClosefrom? {
        dlsym(Self.defaultHandle, "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddClosefrom.self) }
    }

    #if canImport(Darwin)
    private static let setsidFlag = Int32(POSIX_SPAWN_SETSID)
    #else
    /// POSIX_SPAWN_SETSID in glibc's and musl's <spawn.h>.
    private static let setsidFlag: Int32 = 0x80
    #endif

    /// Whether the child has exited; reaps it if so.
    package var hasExited: Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
            let signal = status & 0x7f
            exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            if signal != 0 { exitSignal = signal }
            return true
        }
        if result < 0, errno == ECHILD {
            // Reaped elsewhere (SIGCHLD ignored): it is gone, status unknown.
            exitStatus = -1
            return true
        }
        return false
    }

    /// Whether it still runs.
    package var isRunning: Bool { !hasExited }

    /// Waits until the child exits or `timeout` seconds pass. Returns whether it exited.
    package func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !hasExited {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    /// Signals the child, or its whole process group when it leads one (a detached server).
    package func signal(_ signal: Int32, group: Bool = false) {
        guard !hasExited else { return }
        _ = kill(group ? -pid : pid, signal)
    }
}
