// swift-tools-version: 6.1
//
// RaceLab's benchmarks (ordo-one/benchmark, formerly package-benchmark), in a package of their own so
// that everyday `swift build` and `swift test` in the parent never build them (postgres-nio does the same).
//
//   HotPath    the pure logic every request goes through: message coding, outcome recording,
//              the invariant checker
//   Stampede   one real stampede through RabbitMQ → in-process worker → PostgreSQL; skipped, with one
//              line, when RACELAB_POSTGRES_URL and RACELAB_AMQP_URL do not point at running servers
//
// Run them with `Benchmarks/run` (see README.md here). Thresholds/ holds the p90 values a run is
// checked against; the tolerances are in the benchmark code.
import PackageDescription

let package = Package(
    name: "RaceLabBenchmarks",
    platforms: [.macOS(.v15)],  // Synchronization.Mutex
    dependencies: [
        .package(name: "RaceLab", path: ".."),
        // Naming the trait turns off the default RuntimeInterposer trait, whose package the local mirror lacks.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "RaceLab", package: "RaceLab"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Stampede",
            dependencies: [
                .product(name: "RaceLab", package: "RaceLab"),
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/Stampede",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
