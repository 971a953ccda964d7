import Foundation
import RaceLabCore
import RaceLabPipeline

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
    ) throws -> Process {
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw HarnessError(message: "cannot start \(what) \(executable.path): \(error.localizedDescription)")
        }
        return process
    }
}
