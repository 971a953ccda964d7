import Foundation
import Logging

/// Worker processes the harness starts for one command and stops after it (`racelab run --workers W`).
///
/// Each runs `racelab worker` from the same executable, with the same server URLs; its log goes to
/// `logs/worker-N.log` under the lab home so a worker that fails to start can be diagnosed.
public final class LocalWorkerPool {
    private var processes: [(process: Process, log: URL)] = []
    private let logger: Logger

    /// Starts `count` workers of `consumers` threads each. Returns at once; see `StampedeRunner.waitForConsumers`.
    public init(
        executable: URL,
        count: Int,
        consumers: Int,
        postgresURL: String,
        amqpURL: String,
        logDirectory: URL,
        logger: Logger
    ) throws {
        self.logger = logger
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["RACELAB_POSTGRES_URL"] = postgresURL
        environment["RACELAB_AMQP_URL"] = amqpURL
        for index in 0..<count {
            let log = logDirectory.appendingPathComponent("worker-\(index + 1).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            let process = Process()
            process.executableURL = executable
            process.arguments = ["worker", "--consumers", String(consumers), "--name", "local-\(index + 1)", "--exit-with-parent"]
            process.environment = environment
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                stop()
                throw HarnessError(message: "cannot start worker process \(executable.path): \(error.localizedDescription)")
            }
            try? handle.close()
            processes.append((process, log))
        }
    }

    /// A worker that has exited, described with the last line of its log; nil while all run.
    public func failure() -> String? {
        guard let dead = processes.first(where: { !$0.process.isRunning }) else { return nil }
        let lastLine =
            (try? String(contentsOf: dead.log, encoding: .utf8))?
            .split(whereSeparator: \.isNewline).last.map(String.init) ?? "no output"
        return "worker process exited with status \(dead.process.terminationStatus): \(lastLine) (log: \(dead.log.path))"
    }

    /// Asks each worker to finish (SIGTERM), waits up to `graceSeconds`, then kills what is left.
    public func stop(graceSeconds: Double = 10) {
        for entry in processes where entry.process.isRunning { entry.process.terminate() }
        let deadline = Date().addingTimeInterval(graceSeconds)
        while processes.contains(where: { $0.process.isRunning }) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        for entry in processes where entry.process.isRunning {
            logger.warning("Worker did not stop in time; killing it", metadata: ["lab.pid": "\(entry.process.processIdentifier)"])
            kill(entry.process.processIdentifier, SIGKILL)
        }
        processes.removeAll()
    }

    deinit { stop() }
}
