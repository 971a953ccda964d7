import Foundation
import RaceLabCore
import RaceLabPipeline
import Sandbox

/// PostgreSQL's own load generator, run on the transaction a strategy's worker runs, so the pipeline's
/// throughput can be set beside what the database does with no queue and no workers in the way.
public struct Pgbench: Sendable {
    public let executable: String

    /// Finds pgbench: `RACELAB_PG_BINDIR`, then `PATH`, then the highest `/usr/lib/postgresql/N/bin`.
    public init() throws {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let bindir = ProcessInfo.processInfo.environment["RACELAB_PG_BINDIR"], !bindir.isEmpty {
            candidates.append(bindir + "/pgbench")
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            candidates.append("\(directory)/pgbench")
        }
        let versions = ((try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin/pgbench" }
        guard let found = candidates.first(where: { fileManager.isExecutableFile(atPath: $0) }) else {
            throw HarnessError(message: "pgbench is not installed (it comes with the postgresql package); run scripts/setup or set RACELAB_PG_BINDIR")
        }
        executable = found
    }

    /// The pessimistic transaction's statements sent in one pipelined round trip (no branch): the most
    /// the server can do with one purchase per transaction, its ceiling.
    public static func ceiling(_ context: PgbenchContext) -> PgbenchScript {
        PgbenchScript(
            text: """
                \\set buyer random(1, 1000000000)
                \\startpipeline
                BEGIN;
                SELECT stock FROM items WHERE id = \(context.item) FOR UPDATE;
                UPDATE items SET stock = stock - \(context.quantity), version = version + 1 WHERE id = \(context.item);
                \(PgbenchScript.orderInsert(context, strategy: .pessimistic))
                COMMIT;
                \\endpipeline

                """
        )
    }

    /// What one pgbench run did.
    public struct Result: Sendable, Equatable, Codable {
        public var script: String
        /// pgbench's transactions per second, times the purchases each stands for: what to set beside
        /// the pipeline's purchases per second.
        public var purchasesPerSec: Double {
            transactionsPerSec * Double(max(1, purchasesPerTransaction))
        }
        public var clients: Int
        public var transactions: Int
        /// Purchases one transaction of the script stands for (a batch's several).
        public var purchasesPerTransaction: Int
        public var transactionsPerSec: Double
        public var latencyAverageMs: Double?
    }

    /// `url` without its password, and the environment that hands the password to libpq instead
    /// (`PGPASSWORD`): a command line is visible to every user of the machine (`ps`), the environment is not.
    static func withoutPassword(_ url: String) -> (url: String, environment: [String: String]) {
        var environment = ProcessInfo.processInfo.environment
        guard var components = URLComponents(string: url), let password = components.password else { return (url, environment) }
        components.password = nil
        guard let bare = components.string else { return (url, environment) }
        environment["PGPASSWORD"] = password
        return (bare, environment)
    }

    /// Runs `script` with `clients` connections, `transactions` in all (rounded up to a multiple of
    /// `clients`), prepared statements, no vacuum. Blocks until pgbench exits.
    ///
    /// - Parameter name: names the script in the result (`atomic`, `ceiling`).
    /// - Throws: `HarnessError` with pgbench's own last line when it fails.
    public func run(_ script: PgbenchScript, name: String, postgresURL: String, clients: Int, transactions: Int) throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-pgbench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("\(name).sql")
        try script.text.write(to: file, atomically: true, encoding: .utf8)

        let perClient = max(1, (transactions + clients - 1) / clients)
        let connection = Self.withoutPassword(postgresURL)
        let outputFile = folder.appendingPathComponent("output.txt")
        let output = open(outputFile.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard output >= 0 else { throw HarnessError(message: "pgbench: cannot create \(outputFile.path): \(String(cString: strerror(errno)))") }
        let process: ChildProcess
        do {
            defer { close(output) }
            process = try ChildProcess(
                argv: [
                    executable, "-n", "-M", "prepared", "-c", String(clients), "-j", String(min(clients, 2)), "-t", String(perClient),
                    "-f", file.path, connection.url,
                ],
                environment: connection.environment,
                directory: nil,
                output: output,
                newSession: false
            )
        } catch {
            throw HarnessError(message: "cannot start pgbench \(executable): \(error)")
        }
        while !process.wait(timeout: 3600) {}
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        let status = process.exitStatus ?? -1
        guard status == 0, let tps = Self.parse(text, key: "tps = ") else {
            let last = text.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? "no output"
            throw HarnessError(message: "pgbench failed (exit \(status)): \(last)")
        }
        return Result(
            script: name,
            clients: clients,
            transactions: perClient * clients,
            purchasesPerTransaction: script.purchasesPerTransaction,
            transactionsPerSec: tps,
            latencyAverageMs: Self.parse(text, key: "latency average = ")
        )
    }

    /// The number after `key` on the first line holding it: `tps = 2712.4 (without initial …)` → 2712.4.
    static func parse(_ output: String, key: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains(key) }),
            let range = line.range(of: key)
        else { return nil }
        return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
    }
}
