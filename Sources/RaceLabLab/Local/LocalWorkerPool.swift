import Foundation
import Logging
import RaceLabCore
import RaceLabPipeline
import Sandbox

/// Worker processes the harness starts for one command and stops after it (`racelab run --workers W`).
///
/// Each runs `racelab worker` from the same executable, with the same server URLs; its log goes to
/// `logs/worker-N.log` under the lab home so a worker that fails to start can be diagnosed.
public final class LocalWorkerPool {
    private var processes: [(process: ChildProcess, log: URL)] = []
    private let logger: Logger
    private let launch: (executable: URL, consumers: Int, environment: [String: String])
    /// Workers started again after they died.
    public private(set) var restarts = 0

    /// Starts `count` workers of `consumers` threads each. Returns at once; see ``waitUntilReady(timeoutSeconds:)``.
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
        launch = (executable, consumers, environment)
        for index in 0..<count {
            do {
                processes.append(try spawn(log: logDirectory.appendingPathComponent("worker-\(index + 1).log"), name: "local-\(index + 1)"))
            } catch {
                stop()
                throw error
            }
        }
    }

    private func spawn(log: URL, name: String) throws -> (process: ChildProcess, log: URL) {
        let readyFile = Self.readyFile(log: log)
        try? FileManager.default.removeItem(atPath: readyFile)
        let process = try LoggedProcess.start(
            launch.executable,
            arguments: [
                "worker", "--consumers", String(launch.consumers), "--name", name, "--exit-with-parent", "--ready-file", readyFile,
            ],
            environment: launch.environment,
            log: log,
            what: "worker process"
        )
        return (process, log)
    }

    private static func readyFile(log: URL) -> String { log.deletingPathExtension().appendingPathExtension("ready").path }

    /// Workers running now whose consumers have all subscribed (each says so in its ready file).
    private var readyCount: Int {
        processes.filter { entry in
            entry.process.isRunning && ReadyFile.processIdentifier(at: Self.readyFile(log: entry.log)) == entry.process.pid
        }.count
    }

    /// Blocks until every worker of the pool is ready (see ``readyCount``), starting again the ones a
    /// signal killed meanwhile.
    ///
    /// - Throws: `HarnessError` when a worker exits on its own, or when they are not all ready in time.
    public func waitUntilReady(timeoutSeconds: Double) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            if let problem = failure() { throw HarnessError(message: problem) }
            replaceDeadWorkers()
            let ready = readyCount
            if ready == processes.count { return }
            guard Date() < deadline else {
                throw HarnessError(
                    message:
                        "only \(ready) of \(processes.count) workers were consuming within \(Int(timeoutSeconds)) s; see their logs in \(processes[0].log.deletingLastPathComponent().path)"
                )
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Process ids of the workers running now (for CPU accounting).
    public var processIdentifiers: [Int32] {
        processes.filter { $0.process.isRunning }.map { $0.process.pid }
    }

    /// SIGKILLs one running worker chosen at random (fault injection); returns its pid.
    @discardableResult
    public func killRandomWorker() -> Int32? {
        guard let victim = processes.filter({ $0.process.isRunning }).randomElement() else { return nil }
        let pid = victim.process.pid
        kill(pid, SIGKILL)
        logger.info("Chaos: killed a worker", metadata: ["lab.pid": "\(pid)"])
        return pid
    }

    /// Starts a new worker in place of each one that has died, whoever killed it.
    public func replaceDeadWorkers() {
        for index in processes.indices where !processes[index].process.isRunning {
            let log = processes[index].log
            let name = log.deletingPathExtension().lastPathComponent.replacingOccurrences(of: "worker-", with: "local-")
            guard let fresh = try? spawn(log: log, name: name) else { continue }
            processes[index] = fresh
            restarts += 1
            logger.info("Started a worker in place of one that died", metadata: ["lab.pid": "\(fresh.process.pid)"])
        }
    }

    /// A worker that has exited on its own (not killed by a signal — someone else's doing, which
    /// ``replaceDeadWorkers()`` mends), described with the last line of its log; nil while all run.
    public func failure() -> String? {
        guard let dead = processes.first(where: { !$0.process.isRunning && $0.process.exitSignal == nil }) else { return nil }
        let lastLine =
            (try? String(contentsOf: dead.log, encoding: .utf8))?
            .split(whereSeparator: \.isNewline).last.map(String.init) ?? "no output"
        return "worker process exited with status \(dead.process.exitStatus ?? -1): \(lastLine) (log: \(dead.log.path))"
    }

    /// Asks each worker to finish (SIGTERM), waits up to `graceSeconds`, then kills what is left.
    public func stop(graceSeconds: Double = 10) {
        for entry in processes where entry.process.isRunning { entry.process.signal(SIGTERM) }
        let deadline = Date().addingTimeInterval(graceSeconds)
        while processes.contains(where: { $0.process.isRunning }) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        for entry in processes where entry.process.isRunning {
            logger.warning("Worker did not stop in time; killing it", metadata: ["lab.pid": "\(entry.process.pid)"])
            kill(entry.process.pid, SIGKILL)
        }
        processes.removeAll()
    }

    deinit { stop() }
}
