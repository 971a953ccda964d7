/// How one purchase request ended. Outcomes are data, not errors: a buyer turned away is a normal result.
public enum PurchaseOutcome: String, Codable, Sendable, CaseIterable {
    /// An order was committed for this request.
    case purchased
    /// The item had too little stock left.
    case soldOut
    /// The strategy kept losing races (optimistic conflicts, deadlocks) and stopped retrying.
    case gaveUp
    /// Something broke (a database error that is not a lost race); nothing was bought.
    case failed
    /// The request was rejected as malformed and went to the dead-letter queue.
    case deadLettered
}
