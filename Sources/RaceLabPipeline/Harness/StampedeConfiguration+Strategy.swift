import Postgres
import RaceLabCore

extension StampedeConfiguration {
    /// The level `strategy` runs at in this stampede.
    public func isolation(for strategy: any PurchaseStrategy) -> IsolationLevel {
        isolation ?? strategy.traits.defaultIsolation
    }

    /// What keeps `strategy` from running this stampede (beyond ``problem``), naming the option.
    public func problem(for strategy: any PurchaseStrategy) -> String? {
        if strategy.traits.stock == .unitRows, items * stock > Schema.maxUnitRows {
            return "--items × --stock must be at most \(Schema.maxUnitRows) for \(strategy.name), which keeps one row per unit (got \(items * stock))"
        }
        return nil
    }
}
