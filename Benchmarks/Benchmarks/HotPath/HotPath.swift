import Benchmark
import Histogram
import RaceLab

/// Micro-benchmarks of the pure logic every purchase goes through, through RaceLab's public API:
/// the harness encodes each request and decodes each outcome, the worker decodes each request, the
/// harness records each outcome and its latency, and checks the invariants once per run.
///
/// Each benchmark repeats its operation 1,000 times per iteration (`scaledIterations`; the oversold
/// invariant check, at about 0.6 ms, once), so the numbers shown with `*` are per operation.
/// Metrics: wall clock, throughput and mallocs; not CPU time, which Linux counts in 10 ms ticks, far
/// coarser than one iteration. The tolerances `thresholds check` applies are in `HotPathTolerances`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 10_000,
        thresholds: HotPathTolerances.all
    )

    // The harness publishes every request as JSON, with one codec per thread.
    Benchmark("PurchaseRequest.encode") { benchmark in
        let codec = MessageCodec()
        let request = HotPathFixtures.request
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try codec.encode(request))
        }
    }

    // The worker reads every delivery field by field (PurchaseConsumer), so a bad one names its field.
    Benchmark("PurchaseRequest.decode.worker") { benchmark in
        let bytes = HotPathFixtures.requestJSON
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try PurchaseRequest(json: bytes))
        }
    }

    // The harness decodes every outcome that comes back on racelab.outcomes.
    Benchmark("OutcomeMessage.decode.harness") { benchmark in
        let codec = MessageCodec()
        let bytes = HotPathFixtures.outcomeJSON
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try codec.decode(OutcomeMessage.self, from: bytes))
        }
    }

    // Per outcome, the harness counts it and records its latency in the run's histogram; neither may allocate.
    Benchmark("Outcome.record") { benchmark in
        let settlements = HotPathFixtures.settlements(benchmark.scaledIterations.count)
        var counts = OutcomeCounts()
        var histogram = LatencySummary.makeHistogram()
        benchmark.startMeasurement()
        for settlement in settlements {
            counts.record(settlement.outcome)
            blackHole(histogram.record(settlement.micros))
        }
        benchmark.stopMeasurement()
        blackHole(counts)
        blackHole(histogram.totalCount)
    }

    // Once per run: 1,000 items that all kept their invariants (no message to build; about 2 µs, so
    // repeated 1,000 times per iteration like the others) …
    Benchmark("InvariantChecker.1000items.ok") { benchmark in
        let observation = HotPathFixtures.observation(items: 1_000, oversold: false)
        let counts = HotPathFixtures.counts(items: 1_000, oversold: false)
        let checker = InvariantChecker()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(checker.violations(observation: observation, published: counts.total, outcomes: counts, purchasedOutcomes: counts.purchased))
        }
    }

    // … and 1,000 oversold items (the naive strategy), two violations each, each a formatted message.
    Benchmark("InvariantChecker.1000items.oversold", configuration: .init(scalingFactor: .one)) { benchmark in
        let observation = HotPathFixtures.observation(items: 1_000, oversold: true)
        let counts = HotPathFixtures.counts(items: 1_000, oversold: true)
        let checker = InvariantChecker()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let violations = checker.violations(
                observation: observation,
                published: counts.total,
                outcomes: counts,
                purchasedOutcomes: counts.purchased
            )
            guard violations.count == 2_000 else {
                benchmark.error("expected 2000 violations from 1000 oversold items, got \(violations.count)")
                return
            }
            blackHole(violations)
        }
    }
}
