import RaceLabCore

/// Checks a finished run against the invariants in DESIGN.md and says, in plain words, each one broken.
///
/// - sold ≤ initial stock, final stock = initial − sold, stock never negative;
/// - at most one order per request id;
/// - every published request has exactly one outcome (or one dead letter);
/// - the orders in the database match the `purchased` outcomes.
public struct InvariantChecker: Sendable {
    public init() {}

    public func violations(
        observation: RunObservation,
        published: Int,
        outcomes: OutcomeCounts,
        purchasedOutcomes: Int
    ) -> [String] {
        var violations: [String] = []
        for item in observation.items {
            if item.sold > item.initialStock {
                violations.append(
                    "item \(item.itemId): sold \(item.sold) of a stock of \(item.initialStock) (oversold by \(item.sold - item.initialStock))"
                )
            }
            if item.finalStock < 0 {
                violations.append("item \(item.itemId): stock went negative (\(item.finalStock))")
            }
            if item.finalStock != item.initialStock - item.sold {
                violations.append(
                    "item \(item.itemId): final stock \(item.finalStock) ≠ initial \(item.initialStock) − sold \(item.sold) (lost update)"
                )
            }
        }
        if !observation.duplicateRequestIds.isEmpty {
            violations.append("\(observation.duplicateRequestIds.count) request id(s) have more than one order (double purchase)")
        }
        if outcomes.indeterminate > 0 {
            violations.append("\(outcomes.indeterminate) of \(published) requests have no outcome (lost, or still in flight)")
        }
        if outcomes.total != published {
            violations.append("outcomes add up to \(outcomes.total), not to the \(published) requests published")
        }
        let orders = observation.items.reduce(0) { $0 + $1.orders }
        if orders != purchasedOutcomes {
            violations.append("\(orders) orders in the database but \(purchasedOutcomes) purchased outcomes")
        }
        return violations
    }
}
