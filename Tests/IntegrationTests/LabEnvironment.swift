import Foundation
import Logging
import Postgres
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Testing

/// The servers the test command started (`eval "$(racelab up)"`), found through the same variables the CLI reads.
enum LabEnvironment {
    static let postgresURL = ProcessInfo.processInfo.environment["RACELAB_POSTGRES_URL"]
    static let amqpURL = ProcessInfo.processInfo.environment["RACELAB_AMQP_URL"]
    static var available: Bool { postgresURL != nil && amqpURL != nil }
    static let skipNotice: Comment = "start the servers with `eval \"$(racelab up)\"` (scripts/test does)"

    static var servers: LabServers { LabServers(postgresURL: postgresURL ?? "", amqpURL: amqpURL ?? "") }

    static let logger: Logger = {
        var logger = Logger(label: "racelab.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The `racelab` executable built next to the test bundle.
    static var executable: URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if let override = ProcessInfo.processInfo.environment["RACELAB_BIN"] { return URL(fileURLWithPath: override) }
        return directory.appendingPathComponent("racelab")
    }
}

/// Everything that resets the shared items table or purges `racelab.purchases` nests in here, so that
/// no two such tests run at once.
@Suite(.serialized, .enabled(if: LabEnvironment.available, LabEnvironment.skipNotice))
struct LiveLab {}

/// Runs blocking work (libpq, librabbitmq) on its own thread, never on a Swift concurrency task.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.start()
    }
}

/// Starts an in-process worker with `consumers` threads, runs `body`, and stops the worker.
func withWorker<T: Sendable>(
    consumers: Int,
    retryPolicy: PurchaseExecutor.RetryPolicy = .init(),
    _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    let worker = Worker(
        configuration: WorkerConfiguration(
            postgresURL: LabEnvironment.servers.postgresURL,
            amqpURL: LabEnvironment.servers.amqpURL,
            consumers: consumers,
            name: "test-\(getpid())",
            retryPolicy: retryPolicy
        ),
        logger: LabEnvironment.logger
    )
    try await onThread { try worker.checkConnections() }
    worker.start()
    defer {
        worker.stop()
        worker.wait()
    }
    return try await onThread(body)
}

/// Fires one stampede at each strategy with in-process workers (the pipeline is the real one).
func stampede(
    _ strategies: [StrategyName],
    _ configuration: StampedeConfiguration,
    catalog: StrategyCatalog = StrategyCatalog(),
    retryPolicy: PurchaseExecutor.RetryPolicy = .init()
) async throws -> [RunReport] {
    try await withWorker(consumers: configuration.consumersPerWorker * max(1, configuration.workers), retryPolicy: retryPolicy) {
        let runner = try StampedeRunner(
            postgresURL: LabEnvironment.servers.postgresURL,
            amqpURL: LabEnvironment.servers.amqpURL,
            logger: LabEnvironment.logger
        )
        try runner.waitForConsumers(atLeast: configuration.consumersPerWorker * max(1, configuration.workers), timeoutSeconds: 30)
        let plan = StampedePlan(buyers: configuration.buyers, items: configuration.items, seed: configuration.seed)
        return try strategies.map { try runner.run(strategy: $0, catalog: catalog, configuration: configuration, plan: plan) }
    }
}

extension PurchaseExecutor {
    /// Settles `request` with the built-in strategy it names (the tests' shorthand).
    func settle(_ request: PurchaseRequest, redelivered: Bool = false, on db: PostgresConnection) throws -> Settlement {
        let strategy = try #require(StrategyCatalog.builtIn(request.strategy), "\(request.strategy) is not built in")
        return try settle(request, with: strategy, redelivered: redelivered, on: db)
    }
}

extension BatchedStrategy {
    /// One batched transaction at read committed (the tests' shorthand).
    func attempt(batch: [(request: PurchaseRequest, redelivered: Bool)], on db: PostgresConnection) throws -> [PurchaseAttempt] {
        try attempt(batch: batch.map { BatchEntry(request: $0.request, redelivered: $0.redelivered) }, isolation: .readCommitted, on: db)
    }
}
