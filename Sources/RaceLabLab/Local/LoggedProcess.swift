import Foundation
import RaceLabCore
import RaceLabPipeline
import Sandbox

/// Starts a child process of the harness (a worker, the API server) with its output appended to a log
/// file under the lab home, so a child that fails can be diagnosed from its log.
enum LoggedProcess {
    /// Starts `executable arguments…` with `environment`, stdout and stderr appended to `log`, stdin
    /// from /dev/null. Returns at once.
    /// - Throws: `HarnessError` naming `what` when it cannot start.
    static func start(
        _ executable: URL,
        arguments: [String],
        environment: [String: String],
        log: URL,
        what: String
    ) throws -> ChildProcess {
        // Never through a symlink someone left at the log's path.
        let output = open(log.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard output >= 0 else {
            throw HarnessError(message: "cannot start \(what): cannot open its log \(log.path): \(String(cString: strerror(errno)))")
        }
        defer { close(output) }
        do {
            return try ChildProcess(argv: [executable.path] + arguments, environment: environment, directory: nil, output: output, newSession: false)
        } catch {
            throw HarnessError(message: "cannot start \(what) \(executable.path): \(error)")
        }
    }
}
