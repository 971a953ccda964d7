/// The purchase strategies a request can name. The name travels in every message, so one pool of
/// workers serves every experiment without restarting.
public enum StrategyName: String, Codable, Sendable, CaseIterable, Comparable {
    case naive
    case pessimistic
    case optimistic
    case advisory
    /// Up to a batch of ready requests for one item in one locked transaction.
    case batched

    /// The implementation that runs this strategy.
    public var strategy: any PurchaseStrategy {
        switch self {
        case .naive: NaiveStrategy()
        case .pessimistic: PessimisticLockStrategy()
        case .optimistic: OptimisticVersionStrategy()
        case .advisory: AdvisoryLockStrategy()
        case .batched: BatchedStrategy()
        }
    }

    /// True for every strategy that is meant to sell exactly the stock, never more.
    public var isLocked: Bool { self != .naive }

    public static func < (lhs: StrategyName, rhs: StrategyName) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!  // every case is in allCases
    }
}
