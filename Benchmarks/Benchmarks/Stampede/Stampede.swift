import Benchmark
import Foundation
import Logging
import RaceLab

/// One real stampede per iteration: 2,000 buyers on one item whose stock never runs out, with the
/// pessimistic strategy, through RabbitMQ, an in-process worker of 4 consumer threads (4 database
/// sessions on the hot row) and PostgreSQL — the same pipeline `racelab run` drives, minus the worker
/// processes.
///
/// Needs the servers in `RACELAB_POSTGRES_URL` and `RACELAB_AMQP_URL` (`eval "$(racelab up)"`); without
/// them it prints one line and registers nothing, so a run without servers still passes. A run that
/// breaks an invariant, or does not sell to every buyer, fails the benchmark.
///
/// Metrics: wall clock per stampede (reset, publish with confirms, gate, every outcome, the database
/// read-back and the invariant check), CPU of this process (harness and worker threads; PostgreSQL and
/// RabbitMQ are other processes), and purchases per second as the run's report counts them (from the
/// gate opening to the last outcome).
let benchmarks: @Sendable () -> Void = {
    var logger = Logger(label: "racelab.bench")
    logger.logLevel = .warning

    let servers: LabServers
    switch StampedeServers.resolve(logger: logger) {
    case .success(let resolved):
        servers = resolved
    case .failure(let skip):
        print(skip.line)
        return
    }

    let configuration = StampedeConfiguration(
        buyers: 2_000,
        stock: 1_000_000,  // never sells out: every buyer must get one
        items: 1,
        workers: 1,
        consumersPerWorker: 4,
        thinkMs: 0,
        seed: 42
    )
    let plan = StampedePlan(buyers: configuration.buyers, items: configuration.items, seed: configuration.seed)
    let lab = StampedeLab(servers: servers, consumers: configuration.consumersPerWorker, logger: logger)

    Benchmark(
        "Stampede.pessimistic.2000buyers",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, StampedeMetrics.purchasesPerSecond],
            timeUnits: .milliseconds,
            warmupIterations: 1,
            scalingFactor: .one,
            maxDuration: .seconds(30),
            maxIterations: 5,
            thresholds: StampedeMetrics.tolerances
        )
    ) { benchmark in
        let report = try lab.fire(.pessimistic, configuration: configuration, plan: plan)
        benchmark.stopMeasurement()
        if let problem = report.benchmarkProblem(expectedPurchases: configuration.buyers) {
            benchmark.error(problem)
            return
        }
        benchmark.measurement(StampedeMetrics.purchasesPerSecond, Int(report.throughputPerSec.rounded()))
    } setup: {
        try await lab.start()
    } teardown: {
        await lab.stop()
    }
}
