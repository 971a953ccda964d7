import Foundation
import LabTestSupport
import Logging
import Postgres
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Testing

/// This target's corner of the servers the test command started (`eval "$(racelab up)"`): its own
/// database and vhost (`racelab_t_integration`), so the other test targets' suites run beside it.
enum LabEnvironment {
    static let lab = IsolatedLab("integration")
    static var available: Bool { LiveServers.available }
    static let skipNotice = LiveServers.skipNotice
    static var postgresURL: String? { available ? lab.postgresURL : nil }
    static var amqpURL: String? { available ? lab.amqpURL : nil }
    static var servers: LabServers { LabServers(postgresURL: lab.postgresURL, amqpURL: lab.amqpURL) }
    static var logger: Logger { LiveServers.logger }
    static var executable: URL { LiveServers.executable }
}

/// Everything that resets the items table or purges `racelab.purchases` nests in here, so that no two
/// such tests run at once. A hang fails the test instead of blocking the run.
@Suite(.serialized, .enabled(if: LabEnvironment.available, LabEnvironment.skipNotice), .isolated(LabEnvironment.lab), .timeLimit(.minutes(5)))
struct LiveLab {}

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
