// swift-tools-version: 6.1
//
// RaceLab: a laboratory for the "last item" race.
//
// Layers, bottom up; each target depends only on targets above it in this list:
//   CLibPQ, CRabbitMQ    system libraries (module map + shim header), nothing else
//   Postgres, AMQP       thin, domain-free Swift wrappers over them
//   ContentHash          a stable hash for names (FNV-1a): a sandbox's /tmp folder, a strategy file's version
//   Sandbox              local PostgreSQL + RabbitMQ servers under .racelab/ (the embedded default)
//   RaceLabCore          what every layer speaks: requests, outcomes, names, topology, schema, run report
//   RaceLabPipeline      the road a purchase takes: strategies, worker, stampede runner, invariants, dead letters
//   RaceLabLab           this machine's lab: servers, local worker pool and API server, chaos, bench
//   RaceLabExperiments   matrices: specs, result store, matrix reports, compare
//   RaceLabServer        the HTTP front door (Hummingbird): purchases in, outcomes out, items, metrics (swift-prometheus),
//                        the OpenAPI document built from the routes (OpenAPIKit)
//   RaceLabCommandLine   what both executables parse and print: the lab options, writable paths, one-line errors
//   racelab              the command line (RaceLabCLI); `racelab serve` runs racelab-server
//   racelab-server       the HTTP server's executable (RaceLabServerCLI): the only one built on Hummingbird and
//                        SwiftNIO, so `swift build --product racelab` (the demo's build) skips them
//   LabTestSupport       (tests only) the live suites' shared helpers: each suite's own database and vhost
import PackageDescription

let package = Package(
    name: "RaceLab",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "racelab", targets: ["RaceLabCLI"]),
        .executable(name: "racelab-server", targets: ["RaceLabServerCLI"]),
        .library(name: "RaceLab", targets: ["RaceLabCore", "RaceLabPipeline", "RaceLabLab", "RaceLabExperiments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // traits: [] leaves out ExternalLoading (loading external references): only documents are built here.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0", traits: []),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"]), .brew(["rabbitmq-c"])]
        ),
        .target(name: "Postgres", dependencies: ["CLibPQ"]),
        .target(name: "AMQP", dependencies: ["CRabbitMQ"]),
        .target(name: "ContentHash"),
        .target(name: "Sandbox", dependencies: ["ContentHash", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "RaceLabCore",
            dependencies: [
                "Postgres",
                "AMQP",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .target(
            name: "RaceLabPipeline",
            dependencies: [
                "RaceLabCore",
                "Postgres",
                "AMQP",
                "ContentHash",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "RaceLabLab",
            dependencies: [
                "RaceLabCore",
                "RaceLabPipeline",
                "Postgres",
                "AMQP",
                "Sandbox",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RaceLabExperiments",
            dependencies: [
                "RaceLabCore",
                "RaceLabPipeline",
                "RaceLabLab",
                "Postgres",
                "AMQP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "RaceLabServer",
            dependencies: [
                "RaceLabCore",
                "RaceLabPipeline",
                "AMQP",
                "Postgres",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "OpenAPIKit30", package: "OpenAPIKit"),
            ]
        ),
        .target(
            name: "RaceLabCommandLine",
            dependencies: [
                "RaceLabLab",
                "Sandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "RaceLabCLI",
            dependencies: [
                "RaceLabCore",
                "RaceLabPipeline",
                "RaceLabLab",
                "RaceLabExperiments",
                "RaceLabCommandLine",
                "ContentHash",
                "Postgres",
                "Sandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "RaceLabServerCLI",
            dependencies: [
                "RaceLabServer",
                "RaceLabCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the live suites share: the servers' URLs, each suite's own database and vhost on them
        // (IsolatedLab, so the suites run in parallel), and the thread hop for blocking clients.
        .target(
            name: "LabTestSupport",
            dependencies: [
                "Postgres",
                "AMQP",
                "Sandbox",
                "RaceLabLab",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/LabTestSupport"
        ),
        .testTarget(name: "RaceLabTests", dependencies: ["ContentHash", "RaceLabCore", "RaceLabPipeline", "RaceLabLab", "RaceLabExperiments"]),
        .testTarget(name: "AMQPTests", dependencies: ["AMQP", "LabTestSupport"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox"]),
        .testTarget(
            name: "RaceLabServerTests",
            dependencies: [
                "RaceLabServer",
                "RaceLabCore",
                "RaceLabPipeline",
                "AMQP",
                "Postgres",
                "LabTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["RaceLabCore", "RaceLabPipeline", "RaceLabLab", "RaceLabExperiments", "Postgres", "AMQP", "Sandbox", "LabTestSupport"]
        ),
    ]
)
