import Foundation
import GRDB
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// The embedded SQLite store of matrix runs and their stampedes (`<lab home>/results.sqlite` by default).
///
/// `matrix_runs` holds one row per matrix run (its spec text, environment as JSON, start and finish);
/// `stampede_runs` one row per stampede, with its cell and key figures as columns for SQL and the full
/// `RunReport` (latency curve included) as JSON. Times are seconds since 1970 (REAL), so `sqlite3` users
/// can read them with `datetime(started_at, 'unixepoch')`.
///
/// Thread-safe (a GRDB `DatabaseQueue` serialises access); every method blocks on SQLite, so call it from
/// a thread, not from a Swift concurrency task. Throws ``ResultStoreError`` naming the file.
public final class ResultStore: Sendable {
    /// The SQLite file.
    public let path: String
    private let database: DatabaseQueue

    /// Where the store lives under a lab home.
    public static func defaultPath(home: URL) -> String {
        home.appendingPathComponent("results.sqlite").path
    }

    /// Opens the store at `path`, creating its directory and file and migrating its schema as needed.
    public init(path: String) throws {
        self.path = path
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            configuration.busyMode = .timeout(10)  // another racelab may be writing its own matrix run
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
        } catch {
            throw ResultStoreError(path: path, action: "open", underlying: error)
        }
    }

    /// The schema, one migration per change; never edit a shipped migration, add one.
    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: matrix runs and stampede runs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE matrix_runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL,
                        spec_text TEXT NOT NULL,
                        quick BOOLEAN NOT NULL,
                        planned_runs INTEGER NOT NULL,
                        started_at REAL NOT NULL,
                        finished_at REAL,
                        environment TEXT NOT NULL
                    );
                    CREATE TABLE stampede_runs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        matrix_run_id INTEGER REFERENCES matrix_runs(id) ON DELETE CASCADE,
                        run_id TEXT NOT NULL,
                        strategy TEXT NOT NULL,
                        buyers INTEGER NOT NULL,
                        stock INTEGER NOT NULL,
                        items INTEGER NOT NULL,
                        workers INTEGER NOT NULL,
                        consumers INTEGER NOT NULL,
                        think_ms INTEGER NOT NULL,
                        repetition INTEGER NOT NULL,
                        seed INTEGER NOT NULL,
                        sold INTEGER NOT NULL,
                        oversold INTEGER NOT NULL,
                        indeterminate INTEGER NOT NULL,
                        throughput_per_sec REAL NOT NULL,
                        p50_ms REAL NOT NULL,
                        p99_ms REAL NOT NULL,
                        violations INTEGER NOT NULL,
                        report TEXT NOT NULL,
                        recorded_at REAL NOT NULL
                    );
                    CREATE INDEX stampede_runs_by_matrix_run ON stampede_runs(matrix_run_id, id);
                    """
            )
        }
        migrator.registerMigration("v2: isolation level of each stampede") { db in
            try db.execute(sql: "ALTER TABLE stampede_runs ADD COLUMN isolation TEXT NOT NULL DEFAULT 'read-committed'")
        }
        return migrator
    }

    /// Starts a matrix run (started now, not finished) and returns its id.
    public func beginMatrixRun(name: String, specText: String, quick: Bool, environment: RunEnvironment, plannedRuns: Int = 0) throws -> Int64 {
        let environmentJSON = try Self.json(environment)
        return try access("record a new matrix run in") { db in
            try db.execute(
                sql: """
                    INSERT INTO matrix_runs (name, spec_text, quick, planned_runs, started_at, environment)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [name, specText, quick, plannedRuns, Date().timeIntervalSince1970, environmentJSON]
            )
            return db.lastInsertedRowID
        }
    }

    /// Stores one stampede of matrix run `matrixRunId`, right after it ran.
    public func record(matrixRunId: Int64, entry: MatrixRunEntry) throws {
        let report = entry.report
        let reportJSON = try Self.json(report)
        let cell = entry.cell
        let arguments: StatementArguments = [
            matrixRunId, report.runId.uuidString, cell.strategy.rawValue, cell.buyers, cell.stock, cell.items, cell.workers, cell.consumers,
            cell.thinkMs, entry.repetition, Int64(bitPattern: report.seed), report.sold, report.oversold, report.outcomes.indeterminate,
            report.throughputPerSec, report.latencyMs.p50, report.latencyMs.p99, report.violations.count, reportJSON,
            Date().timeIntervalSince1970, cell.isolation.rawValue,
        ]
        try access("record a stampede in") { db in
            try db.execute(
                sql: """
                    INSERT INTO stampede_runs (
                        matrix_run_id, run_id, strategy, buyers, stock, items, workers, consumers, think_ms, repetition, seed,
                        sold, oversold, indeterminate, throughput_per_sec, p50_ms, p99_ms, violations, report, recorded_at, isolation
                    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: arguments
            )
        }
    }

    /// Marks matrix run `id` finished now.
    public func finishMatrixRun(id: Int64) throws {
        try access("finish a matrix run in") { db in
            try db.execute(sql: "UPDATE matrix_runs SET finished_at = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970, id])
        }
    }

    /// Every stored matrix run, oldest first, with its count of stored stampedes.
    public func matrixRuns() throws -> [MatrixRunSummary] {
        let rows = try access("list the matrix runs in") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT m.*, (SELECT COUNT(*) FROM stampede_runs s WHERE s.matrix_run_id = m.id) AS runs
                    FROM matrix_runs m ORDER BY m.id
                    """
            )
        }
        return try rows.map { row in
            MatrixRunSummary(
                id: row["id"],
                name: row["name"],
                quick: row["quick"],
                startedAt: Date(timeIntervalSince1970: row["started_at"]),
                finishedAt: (row["finished_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
                runs: row["runs"],
                plannedRuns: row["planned_runs"],
                environment: try Self.decode(RunEnvironment.self, row["environment"])
            )
        }
    }

    /// Matrix run `id` in full, its stampedes in the order they ran; nil when there is no such run.
    public func matrixRun(id: Int64) throws -> MatrixRunRecord? {
        let (run, stampedes) = try access("read a matrix run from") { db in
            (
                try Row.fetchOne(db, sql: "SELECT * FROM matrix_runs WHERE id = ?", arguments: [id]),
                try Row.fetchAll(
                    db,
                    sql: "SELECT strategy, buyers, stock, items, workers, consumers, think_ms, isolation, repetition, report FROM stampede_runs "
                        + "WHERE matrix_run_id = ? ORDER BY id",
                    arguments: [id]
                )
            )
        }
        guard let run else { return nil }
        let entries = try stampedes.map { row -> MatrixRunEntry in
            let strategyName: String = row["strategy"]
            guard let strategy = StrategyName(rawValue: strategyName) else {
                throw ResultStoreError(path: path, action: "read", problem: "unknown strategy '\(strategyName)' in matrix run \(id)")
            }
            let cell = MatrixCell(
                strategy: strategy,
                buyers: row["buyers"],
                stock: row["stock"],
                items: row["items"],
                workers: row["workers"],
                consumers: row["consumers"],
                thinkMs: row["think_ms"],
                isolation: IsolationLevel(rawValue: row["isolation"]) ?? .readCommitted
            )
            return MatrixRunEntry(cell: cell, repetition: row["repetition"], report: try Self.decode(RunReport.self, row["report"]))
        }
        return MatrixRunRecord(
            id: run["id"],
            name: run["name"],
            specText: run["spec_text"],
            quick: run["quick"],
            startedAt: Date(timeIntervalSince1970: run["started_at"]),
            finishedAt: (run["finished_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
            environment: try Self.decode(RunEnvironment.self, run["environment"]),
            entries: entries
        )
    }

    /// Runs `body` in a write transaction, wrapping database errors with the store's path.
    private func access<T>(_ action: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try database.write(body)
        } catch let error as ResultStoreError {
            throw error
        } catch {
            throw ResultStoreError(path: path, action: action, underlying: error)
        }
    }

    private static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
