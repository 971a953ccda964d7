import Benchmark

/// How far a run's p90 may stray from the stored one (`Thresholds/HotPath.*.p90.json`) before
/// `swift package benchmark thresholds check` reports it.
///
/// A metric without a tolerance here would be checked exactly (package-benchmark's default is
/// `.strict`), so every metric the benchmarks measure has one. Timings are wide: they come from a
/// shared 2-core machine; malloc counts are deterministic and held tight. Beyond the tolerance in the
/// good direction the check exits 4 ("better than the thresholds"), which `Benchmarks/run` reports
/// as a hint to store new thresholds, not as a failure.
enum HotPathTolerances {
    /// Wall clock: 50 % slower is a regression.
    static var time: BenchmarkThresholds { BenchmarkThresholds(relative: [.p90: 50]) }
    /// Operations per second: half as many is a regression. Wider than `time`, which already catches a
    /// slowdown (throughput is one over the wall clock of the same iterations): package-benchmark
    /// 1.38.1 stores the upper p90 of a larger-is-better metric but checks its lower one (the p10)
    /// against it, so the spread between iterations counts against this tolerance too.
    static var rate: BenchmarkThresholds { BenchmarkThresholds(relative: [.p90: 50]) }
    /// Allocations per iteration (1,000 operations, or one invariant check): 2 % more, or 20 more, is a
    /// regression. The absolute bound is what catches a benchmark that must not allocate at all,
    /// where a relative one means nothing.
    static var allocations: BenchmarkThresholds { BenchmarkThresholds(relative: [.p90: 2], absolute: [.p90: 20]) }

    static var all: [BenchmarkMetric: BenchmarkThresholds] {
        [
            .wallClock: time,
            .throughput: rate,
            .mallocCountTotal: allocations,
        ]
    }
}
