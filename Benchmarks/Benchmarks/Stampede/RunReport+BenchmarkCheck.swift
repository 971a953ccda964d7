import RaceLab

extension RunReport {
    /// Why this run cannot stand as a measurement, in one line; `nil` when it sold to every buyer and
    /// kept every invariant. A benchmark that fails this reports it instead of a number.
    func benchmarkProblem(expectedPurchases: Int) -> String? {
        if !violations.isEmpty {
            return "stampede broke \(violations.count) invariant(s): \(violations.joined(separator: "; "))"
        }
        if outcomes.purchased != expectedPurchases {
            return "expected \(expectedPurchases) purchases (stock never runs out), got \(outcomes.purchased) "
                + "(sold out \(outcomes.soldOut), gave up \(outcomes.gaveUp), failed \(outcomes.failed), "
                + "dead-lettered \(outcomes.deadLettered), no outcome \(outcomes.indeterminate))"
        }
        return nil
    }
}
