import Foundation
import Postgres
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// An experiment: a matrix of stampedes over strategies × buyers × stock × items × workers × consumers
/// × think time, each cell repeated, read from a YAML file under `experiments/` (see the README).
///
/// Every knob is a non-empty list; the cells are their cartesian product. Build one with
/// ``parse(_:file:)`` or ``load(contentsOf:)``, which check every value before anything runs.
public struct ExperimentSpec: Sendable, Equatable {
    /// Names letters, digits, `-`, `_` and `.` only: it becomes part of the report folder's name.
    public var name: String
    public var description: String?
    public var strategies: [StrategyName]
    public var buyers: [Int]
    /// Stock of each item before each run.
    public var stock: [Int]
    public var items: [Int]
    /// Local worker processes per run (0: use workers already running).
    public var workers: [Int]
    /// Consumer threads per local worker.
    public var consumers: [Int]
    public var thinkMs: [Int]
    /// Isolation levels every strategy runs at; nil: each strategy's own default.
    public var isolation: [IsolationLevel]?
    /// Strategy files (paths as the spec wrote them, relative to the spec's folder) and what they define.
    public var strategyFiles: [String]
    public var userStrategies: [UserStrategy]
    /// Trace every attempt of each cell's first repetition (`trace: true`): report.html then tells each
    /// cell's race and draws its timeline, and the traces are kept in the report folder.
    public var trace = false
    /// Runs of each cell; repetition r uses seed `seed + r − 1`.
    public var repetitions: Int
    public var seed: UInt64
    /// What `--quick` changes, if the spec says.
    public var quick: QuickOverrides?

    /// The knobs `--quick` may replace; nil keeps the spec's value.
    public struct QuickOverrides: Sendable, Equatable {
        public var strategies: [StrategyName]?
        public var buyers: [Int]?
        public var stock: [Int]?
        public var items: [Int]?
        public var workers: [Int]?
        public var consumers: [Int]?
        public var thinkMs: [Int]?
        public var isolation: [IsolationLevel]?
        public var repetitions: Int?

        public init(
            strategies: [StrategyName]? = nil,
            buyers: [Int]? = nil,
            stock: [Int]? = nil,
            items: [Int]? = nil,
            workers: [Int]? = nil,
            consumers: [Int]? = nil,
            thinkMs: [Int]? = nil,
            isolation: [IsolationLevel]? = nil,
            repetitions: Int? = nil
        ) {
            self.strategies = strategies
            self.buyers = buyers
            self.stock = stock
            self.items = items
            self.workers = workers
            self.consumers = consumers
            self.thinkMs = thinkMs
            self.isolation = isolation
            self.repetitions = repetitions
        }
    }

    /// Defaults of the optional fields.
    public enum Defaults {
        public static let items = [1]
        public static let workers = [4]
        public static let consumers = [4]
        public static let thinkMs = [0]
        public static let repetitions = 3
        public static let seed: UInt64 = 42
    }

    public init(
        name: String,
        description: String? = nil,
        strategies: [StrategyName],
        buyers: [Int],
        stock: [Int],
        items: [Int] = Defaults.items,
        workers: [Int] = Defaults.workers,
        consumers: [Int] = Defaults.consumers,
        thinkMs: [Int] = Defaults.thinkMs,
        isolation: [IsolationLevel]? = nil,
        strategyFiles: [String] = [],
        userStrategies: [UserStrategy] = [],
        repetitions: Int = Defaults.repetitions,
        seed: UInt64 = Defaults.seed,
        quick: QuickOverrides? = nil
    ) {
        self.name = name
        self.description = description
        self.strategies = strategies
        self.buyers = buyers
        self.stock = stock
        self.items = items
        self.workers = workers
        self.consumers = consumers
        self.thinkMs = thinkMs
        self.isolation = isolation
        self.strategyFiles = strategyFiles
        self.userStrategies = userStrategies
        self.repetitions = repetitions
        self.seed = seed
        self.quick = quick
    }

    /// The spec as `--quick` runs it: the quick overrides applied, and no quick section left.
    /// A spec without one runs unchanged.
    public var quickVariant: ExperimentSpec {
        var spec = self
        spec.quick = nil
        guard let quick else { return spec }
        spec.strategies = quick.strategies ?? strategies
        spec.buyers = quick.buyers ?? buyers
        spec.stock = quick.stock ?? stock
        spec.items = quick.items ?? items
        spec.workers = quick.workers ?? workers
        spec.consumers = quick.consumers ?? consumers
        spec.thinkMs = quick.thinkMs ?? thinkMs
        spec.isolation = quick.isolation ?? isolation
        spec.repetitions = quick.repetitions ?? repetitions
        return spec
    }

    /// The strategies the spec knows: the built-ins and those of its strategy files.
    public var catalog: StrategyCatalog { StrategyCatalog(userStrategies: userStrategies) }

    /// Every cell of the matrix, in the order they run within a repetition.
    ///
    /// Workers and consumers vary slowest (so consecutive cells share a worker pool), then buyers,
    /// stock, items, think time and isolation; the strategy varies fastest, so the strategies meet the
    /// same stampede back to back. Without an `isolation` knob each strategy runs at its own default.
    public var cells: [MatrixCell] {
        var cells: [MatrixCell] = []
        for workers in workers {
            for consumers in consumers {
                for buyers in buyers {
                    for stock in stock {
                        for items in items {
                            for thinkMs in thinkMs {
                                for level in isolation.map({ $0.map(Optional.some) }) ?? [nil] {
                                    for strategy in strategies {
                                        let defaultLevel = catalog.strategy(named: strategy)?.traits.defaultIsolation ?? .readCommitted
                                        cells.append(
                                            MatrixCell(
                                                strategy: strategy,
                                                buyers: buyers,
                                                stock: stock,
                                                items: items,
                                                workers: workers,
                                                consumers: consumers,
                                                thinkMs: thinkMs,
                                                isolation: level ?? defaultLevel
                                            )
                                        )
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return cells
    }

    /// The seed of repetition `repetition` (1-based): the same for every strategy within it.
    public func seed(repetition: Int) -> UInt64 {
        seed &+ UInt64(max(repetition, 1) - 1)
    }

    /// Stampedes the matrix runs: cells × repetitions.
    public var runCount: Int { cells.count * repetitions }
}
