import Foundation
import LabTestSupport
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Testing

/// The `racelab` executable as a user meets it: bad input gets one line and a non-zero exit, fast.
@Suite(.isolated(LabEnvironment.lab), .timeLimit(.minutes(2))) struct CommandLineTests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    /// Runs `racelab arguments…` against this target's lab (`environment` adds or replaces variables).
    static func racelab(
        _ arguments: [String],
        environment: [String: String] = [:],
        executable: URL = LabEnvironment.executable
    ) async throws -> Result {
        if LabEnvironment.available { try await LabEnvironment.lab.provision() }  // for callers outside the lab's suites
        return try await onThread {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            // The suite's own database and vhost, unless the test names other servers.
            var env = ProcessInfo.processInfo.environment
            if LabEnvironment.available { env.merge(LabEnvironment.lab.environment) { _, lab in lab } }
            for (key, value) in environment { env[key] = value }
            process.environment = env
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            let start = Date()
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(
                status: process.terminationStatus,
                stdout: String(decoding: stdout, as: UTF8.self),
                stderr: String(decoding: stderr, as: UTF8.self),
                seconds: Date().timeIntervalSince(start)
            )
        }
    }

    func expectOneLineError(_ result: Result, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status != 0, sourceLocation: sourceLocation)
        let lines = result.stderr.split(whereSeparator: \.isNewline)
        #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.seconds < 10, sourceLocation: sourceLocation)
    }

    @Test(arguments: [
        (["run", "--strategy", "all", "--buyers", "0", "--stock", "1"], "--buyers"),
        (["run", "--strategy", "all", "--buyers", "-5", "--stock", "1"], "--buyers"),
        (["run", "--strategy", "fastest", "--buyers", "10", "--stock", "1"], "fastest"),
        (["run", "--strategy", "naive", "--buyers", "ten", "--stock", "1"], "ten"),
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "-1"], "--stock"),
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--format", "xml"], "xml"),
        (["run", "--buyers", "10", "--stock", "1"], "--strategy"),
        (["worker", "--consumers", "0"], "--consumers"),
        (["frobnicate"], "frobnicate"),
        // Checked before any stampede runs: a history that could not be written would cost the run.
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--history", "/tmp"], "is a directory"),
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--history", "/proc/x"], "cannot write in /proc"),
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--history", ""], "expected a file path"),
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--timeout", "1e400"], "at most 3600 seconds (got inf)"),
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--timeout", "0"], "more than 0 and at most 3600"),
        (["dlq", "--purge", "--limit", "3"], "drop --limit"),
        (["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--trace", "/tmp"], "--trace: /tmp is a directory"),
        (["explain", "/tmp"], "/tmp is a directory; name a trace file"),
        (["explain", "/nonexistent-trace.jsonl"], "cannot read /nonexistent-trace.jsonl"),
        (["explain", "/etc/hostname"], "line 1: not a JSON object"),
        (["explain", "/etc/hostname", "--html", "--format", "json"], "choose one"),
        (["matrix", "experiments/last-item.yaml", "--quick", "--output", "/proc/x"], "--output: cannot write in /proc"),
        (["matrix", "experiments/last-item.yaml", "--quick", "--output", "/dev/null"], "is not a folder"),
        (["matrix", "experiments/last-item.yaml", "--quick", "--store", "/tmp"], "--store: /tmp is a directory"),
        (["help", "nosuch"], "no command 'nosuch'"),
        (["up", "--home", ""], "--home: expected a folder path"),
        (["up", "--home", "/proc/x"], "--home: cannot write in /proc"),
    ])
    func badInputGetsOneLineAndANonZeroExit(arguments: [String], mention: String) async throws {
        expectOneLineError(try await Self.racelab(arguments), mentioning: mention)
    }

    /// Environment values are checked as early as the options they stand for, and named.
    @Test(arguments: [
        (["RACELAB_LOG_LEVEL": "loud"], "RACELAB_LOG_LEVEL must be one of"),
        (["RACELAB_POSTGRES_URL": "mysql://x@127.0.0.1:1/db"], "RACELAB_POSTGRES_URL: expected a postgresql:// URL"),
        (["RACELAB_AMQP_URL": "http://x@127.0.0.1:1/"], "RACELAB_AMQP_URL: invalid RabbitMQ URL"),
        (["RACELAB_API_URL": "nope"], "RACELAB_API_URL: expected http://host:port"),
    ])
    func aBadEnvironmentValueIsNamedBeforeAnyWork(environment: [String: String], mention: String) async throws {
        expectOneLineError(
            try await Self.racelab(["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--via", "http"], environment: environment),
            mentioning: mention
        )
    }

    @Test(.enabled(if: LabEnvironment.available, LabEnvironment.skipNotice))
    func aMissingDatabaseIsToldApartFromAnUnreachableServer() async throws {
        var components = try #require(URLComponents(string: LabEnvironment.postgresURL ?? ""))
        components.path = "/nosuchdb"
        let result = try await Self.racelab(
            ["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--workers", "0"],
            environment: ["RACELAB_POSTGRES_URL": try #require(components.string), "RACELAB_AMQP_URL": LabEnvironment.amqpURL ?? ""]
        )
        expectOneLineError(result, mentioning: "but the database \"nosuchdb\" does not exist")
    }

    @Test(.enabled(if: LabEnvironment.available, LabEnvironment.skipNotice))
    func aPortThatDoesNotSpeakAMQPIsSaidSo() async throws {
        // PostgreSQL's port, as RabbitMQ's: it answers, but not in AMQP.
        let postgres = try #require(URLComponents(string: LabEnvironment.postgresURL ?? ""))
        let result = try await Self.racelab(
            ["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--workers", "0"],
            environment: [
                "RACELAB_POSTGRES_URL": LabEnvironment.postgresURL ?? "",
                "RACELAB_AMQP_URL": "amqp://x:y@127.0.0.1:\(try #require(postgres.port))/%2f",
            ]
        )
        expectOneLineError(result, mentioning: "is not a RabbitMQ server")
    }

    @Test func anUnreachableDatabaseIsNamedWithinTenSeconds() async throws {
        let result = try await Self.racelab(
            ["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--workers", "0"],
            environment: [
                "RACELAB_POSTGRES_URL": "postgresql://racelab@127.0.0.1:1/racelab", "RACELAB_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2f",
            ]
        )
        expectOneLineError(result, mentioning: "PostgreSQL at 127.0.0.1:1")
    }

    @Test(.enabled(if: LabEnvironment.available, LabEnvironment.skipNotice))
    func anUnreachableBrokerIsNamedWithinTenSeconds() async throws {
        let result = try await Self.racelab(
            ["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--workers", "0"],
            environment: ["RACELAB_POSTGRES_URL": LabEnvironment.postgresURL ?? "", "RACELAB_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2f"]
        )
        expectOneLineError(result, mentioning: "RabbitMQ at 127.0.0.1:1")
    }

    @Test func helpListsTheSubcommands() async throws {
        let result = try await Self.racelab(["--help"])
        #expect(result.status == 0)
        for command in ["run", "worker", "up", "down", "serve"] { #expect(result.stdout.contains(command)) }
    }

    /// `racelab serve` is racelab-server under that name: its options, help and one-line errors.
    @Test func serveHandsItsArgumentsToRacelabServer() async throws {
        let help = try await Self.racelab(["serve", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: racelab serve ["), "stdout: \(help.stdout)")
        #expect(help.stdout.contains("--port <port>"))
        #expect(try await Self.racelab(["help", "serve"]).stdout == help.stdout)
        expectOneLineError(try await Self.racelab(["serve", "--port", "70000"]), mentioning: "racelab: --port must be in 0...65535 (got 70000)")
        let server = LabEnvironment.executable.deletingLastPathComponent().appendingPathComponent("racelab-server")
        let direct = try await Self.racelab(["--port", "70000"], executable: server)
        expectOneLineError(direct, mentioning: "racelab-server: --port must be in 0...65535 (got 70000)")
    }

    /// The demo builds racelab alone: without racelab-server beside it, `serve` and `run --via http` say how
    /// to build it, before anything runs.
    @Test func withoutRacelabServerBesideItServeAndViaHTTPSayHowToBuildIt() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-alone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let alone = folder.appendingPathComponent("racelab")
        try FileManager.default.copyItem(at: LabEnvironment.executable.resolvingSymlinksInPath(), to: alone)
        let missing = "the HTTP server is not built (no \(folder.path)/racelab-server): build it with `swift build"
        expectOneLineError(try await Self.racelab(["serve", "--port", "0"], executable: alone), mentioning: "racelab: serve: \(missing)")
        let run = try await Self.racelab(["run", "--strategy", "naive", "--buyers", "10", "--stock", "1", "--via", "http"], executable: alone)
        expectOneLineError(run, mentioning: "racelab: --via http: \(missing)")
        // The rest of racelab works alone.
        let strategies = try await Self.racelab(["strategies", "--format", "json"], executable: alone)
        #expect(strategies.status == 0, "stderr: \(strategies.stderr)")
    }
}

/// `racelab run` end to end with worker processes it starts itself.
extension LiveLab {
    @Suite struct RunCommandTests {
        @Test func runWithLocalWorkersPrintsOneJSONReport() async throws {
            let result = try await CommandLineTests.racelab([
                "run", "--strategy", "pessimistic", "--buyers", "60", "--stock", "10", "--items", "2", "--workers", "2", "--consumers", "2",
                "--format", "json",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(object["strategy"] as? String == "pessimistic")
            #expect(object["sold"] as? Int == 20)
            #expect(object["oversold"] as? Int == 0)
            #expect(object["workers"] as? Int == 2)
            #expect((object["violations"] as? [String])?.isEmpty == true)
            let outcomes = try #require(object["outcomes"] as? [String: Int])
            #expect(outcomes.values.reduce(0, +) == 60)
        }

        @Test func strategyAllPrintsAnArrayWithEveryStrategy() async throws {
            let result = try await CommandLineTests.racelab([
                "run", "--strategy", "all", "--buyers", "40", "--stock", "1", "--workers", "1", "--consumers", "4", "--think-ms", "2",
                "--format", "json",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
            #expect(array.compactMap { $0["strategy"] as? String } == StrategyName.builtIn.map(\.rawValue))
            #expect(Set(array.compactMap { $0["seed"] as? Int }).count == 1)
            for report in array.dropFirst() { #expect(report["sold"] as? Int == 1) }
        }
    }
}
