import Foundation
import Postgres
import RaceLabCore
import RaceLabPipeline
import Synchronization

/// The strategies this server offers: the built-ins and those registered in the database
/// (`racelab run --strategy-file`, a matrix's `strategyFiles:`), read again at most once a second when
/// a request names one it does not know — so a strategy registered after the server started is served
/// without a restart, the same way the workers find it.
final class StrategyDirectory: Sendable {
    private struct State {
        var catalog = StrategyCatalog()
        var refreshedAt = Date.distantPast
    }

    private let database: DatabaseGateway
    private let state = Mutex(State())

    init(database: DatabaseGateway) {
        self.database = database
    }

    /// The catalogue as last read.
    var catalog: StrategyCatalog { state.withLock { $0.catalog } }

    /// Reads the registry again (unless it was read less than `maxAge` seconds ago) and returns the catalogue.
    @discardableResult
    func refresh(maxAge: TimeInterval = 1) async throws -> StrategyCatalog {
        let stale = state.withLock { Date().timeIntervalSince($0.refreshedAt) >= maxAge }
        guard stale else { return catalog }
        let registered = try await database.run { db in try StrategyRegistry.all(on: db) }
        return state.withLock { state in
            state.catalog = StrategyCatalog(userStrategies: registered)
            state.refreshedAt = Date()
            return state.catalog
        }
    }

    /// The strategy called `name`, reading the registry again when it is not known yet; nil when there is none.
    func strategy(named name: StrategyName) async throws -> (any PurchaseStrategy)? {
        if let known = catalog.strategy(named: name) { return known }
        return try await refresh().strategy(named: name)
    }

    /// The strategy a request body names (`strategy`, default pessimistic), or a 422 listing the known ones.
    func resolve(_ text: String) async throws -> any PurchaseStrategy {
        if let name = StrategyName(rawValue: text), let strategy = try await strategy(named: name) { return strategy }
        throw ProblemDetails.invalid("strategy", "unknown strategy '\(text.prefix(40))' (known: \(catalog.namesList))")
    }
}
