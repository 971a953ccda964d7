/// How many requests ended each way. Every request counts exactly once, so the fields add up to the buyers.
public struct OutcomeCounts: Sendable, Equatable, Codable {
    public var purchased = 0
    public var soldOut = 0
    public var gaveUp = 0
    public var failed = 0
    public var deadLettered = 0
    /// Requests with no outcome when the harness stopped waiting: their fate is unknown, not guessed.
    public var indeterminate = 0

    public init() {}

    public mutating func record(_ outcome: PurchaseOutcome) {
        switch outcome {
        case .purchased: purchased += 1
        case .soldOut: soldOut += 1
        case .gaveUp: gaveUp += 1
        case .failed: failed += 1
        case .deadLettered: deadLettered += 1
        }
    }

    public var total: Int { purchased + soldOut + gaveUp + failed + deadLettered + indeterminate }
}
