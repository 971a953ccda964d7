/// The waits of a reconnect loop: `initial` seconds, doubling after each failure up to `ceiling`.
/// One definition for every loop that reconnects (workers, the harness's collector and database).
public struct Backoff: Sendable, Equatable {
    public let initial: Double
    public let ceiling: Double
    /// The wait the next failure takes.
    public private(set) var current: Double

    public init(initial: Double, ceiling: Double) {
        self.initial = initial
        self.ceiling = max(initial, ceiling)
        self.current = initial
    }

    /// The wait to take now; the one after it is twice as long (at most `ceiling`).
    public mutating func next() -> Double {
        defer { current = min(current * 2, ceiling) }
        return current
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() { current = initial }
}
