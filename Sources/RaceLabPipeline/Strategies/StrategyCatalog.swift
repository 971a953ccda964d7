import Foundation
import Postgres
import RaceLabCore

/// Every strategy a command or a worker knows: the built-ins, and strategies written as files
/// (loaded from disk by the harness, or from the registry by a worker).
public struct StrategyCatalog: Sendable {
    /// The built-in strategies, in ``StrategyName/builtIn`` order.
    public static let builtIns: [any PurchaseStrategy] = [
        NaiveStrategy(), PessimisticLockStrategy(), OptimisticVersionStrategy(), AdvisoryLockStrategy(), BatchedStrategy(),
        AtomicUpdateStrategy(), NoWaitStrategy(), SkipLockedStrategy(), SerializedStrategy(),
    ]

    /// The strategies from files, by name.
    public private(set) var userStrategies: [StrategyName: UserStrategy]

    public init(userStrategies: [UserStrategy] = []) {
        self.userStrategies = Dictionary(userStrategies.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The built-in strategy of this name, or nil.
    public static func builtIn(_ name: StrategyName) -> (any PurchaseStrategy)? {
        builtIns.first { $0.name == name }
    }

    /// The strategy of this name, or nil.
    public func strategy(named name: StrategyName) -> (any PurchaseStrategy)? {
        Self.builtIn(name) ?? userStrategies[name]
    }

    /// Adds (or replaces) a strategy from a file.
    public mutating func add(_ strategy: UserStrategy) {
        userStrategies[strategy.name] = strategy
    }

    /// Every strategy: the built-ins, then the user's by name.
    public var all: [any PurchaseStrategy] {
        Self.builtIns + userStrategies.values.sorted { $0.name < $1.name }
    }

    /// Every name, in ``all``'s order.
    public var names: [StrategyName] { all.map(\.name) }

    /// `naive, pessimistic, …`, for messages listing what is known.
    public var namesList: String { names.map(\.rawValue).joined(separator: ", ") }
}

/// A worker thread's view of the catalogue: the built-ins, and user strategies loaded from the
/// registry on the first request that names them (by version; by name, the latest, when a request
/// carries no version). Belongs to one thread, as its connection does.
struct StrategyResolver {
    private var byVersion: [String: UserStrategy] = [:]
    private var latestByName: [StrategyName: (strategy: UserStrategy, loadedAt: Date)] = [:]

    /// Why a request's strategy cannot be served.
    struct Unknown: Error, Equatable {
        var reason: String
    }

    /// The strategy `request` asks for. Queries the registry on a miss. Blocks.
    ///
    /// - Throws: ``Unknown`` with a dead-letter reason; `PostgresError` when the database is gone.
    mutating func strategy(for request: PurchaseRequest, on db: PostgresConnection) throws -> any PurchaseStrategy {
        if let builtIn = StrategyCatalog.builtIn(request.strategy) {
            guard request.strategyVersion == nil else {
                throw Unknown(reason: "field strategyVersion: \(request.strategy) is built in and has no versions")
            }
            return builtIn
        }
        if let version = request.strategyVersion {
            if let known = byVersion[version] { return try check(known, for: request) }
            guard let loaded = try StrategyRegistry.load(version: version, on: db) else {
                throw Unknown(reason: "field strategyVersion: no strategy '\(request.strategy)' of version \(version) is registered")
            }
            byVersion[version] = loaded
            return try check(loaded, for: request)
        }
        // No version (a message published by hand): the latest definition, looked up again after a second.
        if let cached = latestByName[request.strategy], Date().timeIntervalSince(cached.loadedAt) < 1 { return cached.strategy }
        guard let loaded = try StrategyRegistry.latest(named: request.strategy, on: db) else {
            throw Unknown(
                reason:
                    "field strategy: unknown strategy '\(request.strategy.rawValue.prefix(40))' (built in: \(StrategyName.builtIn.map(\.rawValue).joined(separator: ", ")); none registered under that name)"
            )
        }
        latestByName[request.strategy] = (loaded, Date())
        return loaded
    }

    private func check(_ strategy: UserStrategy, for request: PurchaseRequest) throws -> UserStrategy {
        guard strategy.name == request.strategy else {
            throw Unknown(reason: "field strategyVersion: version \(strategy.version) is strategy '\(strategy.name)', not '\(request.strategy)'")
        }
        return strategy
    }
}
