import Foundation
import Postgres
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// One point of an experiment matrix: every knob of a stampede but the repetition and the seed.
/// Cells are what reports group by and what `racelab compare` matches across matrix runs.
public struct MatrixCell: Sendable, Hashable, Codable, Comparable {
    public var strategy: StrategyName
    public var buyers: Int
    public var stock: Int
    public var items: Int
    public var workers: Int
    public var consumers: Int
    public var thinkMs: Int
    /// The isolation level the strategy ran at (cells stored before it existed read as read committed).
    public var isolation: IsolationLevel

    public init(
        strategy: StrategyName,
        buyers: Int,
        stock: Int,
        items: Int,
        workers: Int,
        consumers: Int,
        thinkMs: Int,
        isolation: IsolationLevel = .readCommitted
    ) {
        self.strategy = strategy
        self.buyers = buyers
        self.stock = stock
        self.items = items
        self.workers = workers
        self.consumers = consumers
        self.thinkMs = thinkMs
        self.isolation = isolation
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        strategy = try container.decode(StrategyName.self, forKey: .strategy)
        buyers = try container.decode(Int.self, forKey: .buyers)
        stock = try container.decode(Int.self, forKey: .stock)
        items = try container.decode(Int.self, forKey: .items)
        workers = try container.decode(Int.self, forKey: .workers)
        consumers = try container.decode(Int.self, forKey: .consumers)
        thinkMs = try container.decode(Int.self, forKey: .thinkMs)
        isolation = try container.decodeIfPresent(IsolationLevel.self, forKey: .isolation) ?? .readCommitted
    }

    /// A short human label: `pessimistic b=100 s=1 i=1 w=4 c=4 t=5` (and ` iso=ser` off read committed).
    public var label: String {
        "\(strategy.rawValue) \(stampedeLabel)"
    }

    /// The same cell with another strategy (to compare strategies within one matrix run).
    public func with(strategy: StrategyName) -> MatrixCell {
        var copy = self
        copy.strategy = strategy
        return copy
    }

    private var sortKey: [Int] {
        [
            buyers, stock, items, workers, consumers, thinkMs, IsolationLevel.allCases.firstIndex(of: isolation) ?? 0,
            StrategyName.builtIn.firstIndex(of: strategy) ?? StrategyName.builtIn.count,
        ]
    }

    public static func < (a: MatrixCell, b: MatrixCell) -> Bool {
        a.sortKey != b.sortKey ? a.sortKey.lexicographicallyPrecedes(b.sortKey) : a.strategy < b.strategy
    }
}

/// Where a matrix ran: enough to tell two machines or two server versions apart.
public struct RunEnvironment: Sendable, Equatable, Codable {
    public var postgresVersion: String
    public var rabbitmqVersion: String
    public var racelabVersion: String
    public var hostname: String
    public var cpuCount: Int
    public var memoryBytes: UInt64
    public var operatingSystem: String

    public init(
        postgresVersion: String,
        rabbitmqVersion: String,
        racelabVersion: String,
        hostname: String,
        cpuCount: Int,
        memoryBytes: UInt64,
        operatingSystem: String
    ) {
        self.postgresVersion = postgresVersion
        self.rabbitmqVersion = rabbitmqVersion
        self.racelabVersion = racelabVersion
        self.hostname = hostname
        self.cpuCount = cpuCount
        self.memoryBytes = memoryBytes
        self.operatingSystem = operatingSystem
    }
}

/// One stampede of a matrix run: its cell, which repetition, and the full report (whose
/// `latencyCurve` holds the run's latency percentiles from its HdrHistogram).
public struct MatrixRunEntry: Sendable, Equatable, Codable {
    public var cell: MatrixCell
    /// 1-based.
    public var repetition: Int
    public var report: RunReport

    public init(cell: MatrixCell, repetition: Int, report: RunReport) {
        self.cell = cell
        self.repetition = repetition
        self.report = report
    }
}

/// A whole matrix run as stored: the spec it ran, where, when, and every stampede.
public struct MatrixRunRecord: Sendable, Equatable, Codable {
    /// The result store's id, `1, 2, 3…` (what `racelab runs` lists and `racelab compare` takes).
    public var id: Int64
    /// The experiment's name from its spec.
    public var name: String
    /// The spec file's text, as run (after `--quick` was applied).
    public var specText: String
    public var quick: Bool
    public var startedAt: Date
    public var finishedAt: Date?
    public var environment: RunEnvironment
    public var entries: [MatrixRunEntry]

    public init(
        id: Int64,
        name: String,
        specText: String,
        quick: Bool,
        startedAt: Date,
        finishedAt: Date?,
        environment: RunEnvironment,
        entries: [MatrixRunEntry]
    ) {
        self.id = id
        self.name = name
        self.specText = specText
        self.quick = quick
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.environment = environment
        self.entries = entries
    }
}
