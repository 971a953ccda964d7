import Foundation
import LabTestSupport
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Sandbox
import Testing

extension LiveLab {
    /// Faults injected into real stampedes: workers SIGKILLed mid-run, the broker closing this suite's
    /// connections, a PostgreSQL restarted mid-run.
    /// Every request must end as exactly one outcome (or dead letter), and no request may buy twice.
    @Suite struct FaultTests {
        /// Runs `racelab run … --format json` and returns its one report and the history lines.
        static func run(
            _ arguments: [String],
            environment: [String: String] = [:]
        ) async throws -> (report: [String: Any], history: [[String: Any]], stderr: String) {
            let historyFile = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-history-\(UUID().uuidString).jsonl")
            defer { try? FileManager.default.removeItem(at: historyFile) }
            let result = try await CommandLineTests.racelab(
                ["run", "--format", "json", "--history", historyFile.path] + arguments,
                environment: environment
            )
            #expect(result.status == 0, "\(result.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
            let history = try String(contentsOf: historyFile, encoding: .utf8).split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            return (report, history, result.stderr)
        }

        /// The checks every faulty run must pass: exact sales, nothing lost, nothing doubled.
        static func expectExact(_ report: [String: Any], history: [[String: Any]], buyers: Int, stock: Int) throws {
            #expect(report["sold"] as? Int == stock)
            #expect(report["oversold"] as? Int == 0)
            #expect((report["violations"] as? [String]) == [], "\(report["violations"] ?? "")")
            let outcomes = try #require(report["outcomes"] as? [String: Int])
            #expect(outcomes.values.reduce(0, +) == buyers)
            #expect(outcomes["indeterminate"] == 0)
            #expect(outcomes["purchased"] == stock)
            // The history has one invoke and exactly one completion per request.
            let invokes = history.filter { $0["type"] as? String == "invoke" }
            let completions = history.filter { $0["type"] as? String != "invoke" }
            #expect(invokes.count == buyers)
            #expect(Set(completions.compactMap { $0["requestId"] as? String }).count == buyers)
            #expect(completions.count == buyers)
            #expect(completions.filter { $0["type"] as? String == "ok" }.count == stock)
        }

        @Test(arguments: [StrategyName.pessimistic, .optimistic, .advisory, .atomic, .nowait, .skipLocked, .serialized])
        func workersKilledMidRunLoseNothingAndDoubleNothing(strategy: StrategyName) async throws {
            let (report, history, stderr) = try await Self.run([
                "--strategy", strategy.rawValue, "--buyers", "900", "--stock", "300", "--workers", "3", "--consumers", "2",
                "--think-ms", "1", "--chaos", "kill-worker:250", "--log-level", "info",
            ])
            try Self.expectExact(report, history: history, buyers: 900, stock: 300)
            #expect(stderr.contains("Chaos: killed a worker"), "no worker was killed: the test proved nothing")
        }

        @Test func batchesKilledMidRunLoseNothingAndDoubleNothing() async throws {
            // A batch thinks once, so a longer think keeps the run going long enough for the kills.
            let (report, history, stderr) = try await Self.run([
                "--strategy", "batched", "--buyers", "900", "--stock", "300", "--workers", "3", "--consumers", "2",
                "--think-ms", "10", "--chaos", "kill-worker:250", "--log-level", "info",
            ])
            try Self.expectExact(report, history: history, buyers: 900, stock: 300)
            #expect(stderr.contains("Chaos: killed a worker"), "no worker was killed: the test proved nothing")
        }

        /// The lab's own servers, as the sandbox under the default home reports them. Blocks on a thread.
        static func sandboxStatus() async throws -> SandboxStatus {
            try await onThread { Sandbox(home: Sandbox.defaultHome(), logger: LabEnvironment.logger).status(probes: LabServers.probes) }
        }

        /// Starts `racelab run arguments…` (with `environment`), injects `fault` two seconds in (on a thread:
        /// it blocks), and returns what the fault reported together with the run's result.
        static func run<T: Sendable>(
            _ arguments: [String],
            environment: [String: String] = [:],
            fault: @escaping @Sendable () throws -> T
        ) async throws -> (faulted: T, report: [String: Any], history: [[String: Any]], stderr: String) {
            async let run = Self.run(arguments, environment: environment)
            try await Task.sleep(for: .seconds(2))
            let faulted = try await onThread(fault)
            let (report, history, stderr) = try await run
            return (faulted, report, history, stderr)
        }

        @Test func theBrokerClosingEveryConnectionMidRunLosesNothing() async throws {
            try #require(
                try await Self.sandboxStatus().rabbitmq.url == LiveServers.amqpURL,
                "this test drives the lab's own RabbitMQ; RACELAB_AMQP_URL points elsewhere"
            )
            // Only this suite's vhost: the other suites' connections on the broker stay up.
            let (_, report, history, stderr) = try await Self.run(
                [
                    "--strategy", "advisory", "--buyers", "1500", "--stock", "1000", "--workers", "2", "--consumers", "3", "--think-ms", "5",
                    "--log-level", "warning",
                ]
            ) {
                try Sandbox(home: Sandbox.defaultHome(), logger: LabEnvironment.logger)
                    .closeAMQPConnections(reason: "racelab fault test", vhost: LabEnvironment.lab.virtualHost)
            }
            try Self.expectExact(report, history: history, buyers: 1500, stock: 1000)
            #expect(stderr.contains("Lost the outcome connection"), "the harness never lost its connection: the test proved nothing")
        }

        /// Restarts a PostgreSQL of the test's own (a sandbox under a temporary home, started for it), not
        /// the shared one: that would cut every other suite's connections.
        @Test func aPostgresRestartMidRunLosesNothingAndDoublesNothing() async throws {
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-restart-\(UUID().uuidString)")
            let postgresURL = try await onThread {
                try Sandbox(home: home, logger: LabEnvironment.logger).up(postgres: true, rabbitmq: false, probes: LabServers.probes).postgresURL
            }
            let outcome: Result<(faulted: Bool, report: [String: Any], history: [[String: Any]], stderr: String), any Error>
            do {
                outcome = .success(
                    try await Self.run(
                        [
                            "--strategy", "pessimistic", "--buyers", "1500", "--stock", "500", "--workers", "2", "--consumers", "3", "--think-ms",
                            "2",
                        ],
                        environment: ["RACELAB_POSTGRES_URL": postgresURL]
                    ) {
                        let sandbox = Sandbox(home: home, logger: LabEnvironment.logger)
                        try sandbox.down(postgres: true, rabbitmq: false)
                        let stopped = !sandbox.status(probes: LabServers.probes).postgres.isRunning
                        _ = try sandbox.up(postgres: true, rabbitmq: false, probes: LabServers.probes)
                        return stopped
                    }
                )
            } catch {
                outcome = .failure(error)
            }
            try await onThread {
                try Sandbox(home: home, logger: LabEnvironment.logger).down()
                try FileManager.default.removeItem(at: home)
            }
            let (restarted, report, history, _) = try outcome.get()
            #expect(restarted, "PostgreSQL did not go down: the test proved nothing")
            try Self.expectExact(report, history: history, buyers: 1500, stock: 500)
        }
    }
}
