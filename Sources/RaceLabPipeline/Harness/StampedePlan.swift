import RaceLabCore

/// Who buys which item, in which order: the part of a stampede that must be identical for every strategy.
///
/// Buyers `1...N` are spread evenly over items `1...M` (buyer b wants item `(b − 1) mod M + 1`), then
/// shuffled with a generator seeded by `seed`, so the same seed always gives the same order.
public struct StampedePlan: Sendable, Equatable {
    public struct Buyer: Sendable, Equatable {
        public var buyerId: Int64
        public var itemId: Int64
    }

    public let buyers: [Buyer]

    public init(buyers count: Int, items: Int, seed: UInt64) {
        var buyers = (1...max(count, 1)).map { b in Buyer(buyerId: Int64(b), itemId: Int64((b - 1) % max(items, 1) + 1)) }
        if count < 1 { buyers = [] }
        var generator = SplitMix64(seed: seed)
        buyers.shuffle(using: &generator)
        self.buyers = buyers
    }

    /// The buyers wanting each item, by item id.
    public var buyersPerItem: [Int64: Int] {
        buyers.reduce(into: [:]) { $0[$1.itemId, default: 0] += 1 }
    }
}

/// SplitMix64: a tiny, well-known seeded generator; the standard library has no seedable one.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
