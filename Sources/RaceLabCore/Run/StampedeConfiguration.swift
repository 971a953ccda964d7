import Postgres

/// The knobs of one stampede: who buys what, how many compete, and how slowly they think.
public struct StampedeConfiguration: Sendable, Equatable, Codable {
    public var buyers: Int
    /// Stock of each item before the run.
    public var stock: Int
    /// Items the buyers are spread over, ids `1...items`.
    public var items: Int
    /// Local worker processes the harness spawns (0: use workers already running elsewhere).
    public var workers: Int
    public var consumersPerWorker: Int
    public var thinkMs: Int
    /// Seeds the buyer order: the same seed gives the same stampede.
    public var seed: UInt64
    /// Units each buyer asks for.
    public var quantity: Int
    /// How long the harness waits without any new outcome before it declares the rest indeterminate.
    public var idleTimeoutSeconds: Double
    /// Open loop: requests are sent at this many per second, ungated, and each one's latency counts
    /// from its intended send time (no coordinated omission). nil: a closed stampede behind the gate.
    public var ratePerSec: Double?
    /// The isolation level every strategy's transactions run at; nil: each strategy's own default (read
    /// committed for the built-ins, what a strategy file says for its strategy).
    public var isolation: IsolationLevel?

    public init(
        buyers: Int,
        stock: Int,
        items: Int = 1,
        workers: Int = 4,
        consumersPerWorker: Int = 4,
        thinkMs: Int = 0,
        seed: UInt64 = 42,
        quantity: Int = 1,
        idleTimeoutSeconds: Double = 30,
        ratePerSec: Double? = nil,
        isolation: IsolationLevel? = nil
    ) {
        self.buyers = buyers
        self.stock = stock
        self.items = items
        self.workers = workers
        self.consumersPerWorker = consumersPerWorker
        self.thinkMs = thinkMs
        self.seed = seed
        self.quantity = quantity
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.ratePerSec = ratePerSec
        self.isolation = isolation
    }

    /// Every limit a stampede must respect, checked before anything is touched; the first problem, naming the option.
    public var problem: String? {
        if buyers < 1 { return "--buyers must be at least 1 (got \(buyers))" }
        if buyers > 10_000_000 { return "--buyers must be at most 10000000 (got \(buyers))" }
        if stock < 0 { return "--stock must not be negative (got \(stock))" }
        if stock > 1_000_000_000 { return "--stock must be at most 1000000000 (got \(stock))" }
        if items < 1 { return "--items must be at least 1 (got \(items))" }
        if items > 1_000_000 { return "--items must be at most 1000000 (got \(items))" }
        if workers < 0 { return "--workers must not be negative (got \(workers))" }
        if workers > 64 { return "--workers must be at most 64 (got \(workers))" }
        if consumersPerWorker < 1 { return "--consumers must be at least 1 (got \(consumersPerWorker))" }
        if consumersPerWorker > 64 { return "--consumers must be at most 64 (got \(consumersPerWorker))" }
        if !PurchaseRequest.thinkRange.contains(thinkMs) {
            return "--think-ms must be in \(PurchaseRequest.thinkRange.lowerBound)...\(PurchaseRequest.thinkRange.upperBound) (got \(thinkMs))"
        }
        if !PurchaseRequest.quantityRange.contains(quantity) {
            return "--quantity must be in \(PurchaseRequest.quantityRange.lowerBound)...\(PurchaseRequest.quantityRange.upperBound) (got \(quantity))"
        }
        if let problem = Self.timeoutProblem(idleTimeoutSeconds) { return problem }
        if let ratePerSec, !(ratePerSec > 0 && ratePerSec <= 1_000_000) {
            return "--rate must be more than 0 and at most 1000000 requests per second (got \(ratePerSec))"
        }
        return nil
    }
}

extension StampedeConfiguration {
    /// The longest wait any command takes as `--timeout`, in seconds.
    public static let maxTimeoutSeconds: Double = 3_600

    /// Why `seconds` is not a usable `--timeout` (not a number, not more than 0, infinite, over an
    /// hour); nil when it is. One wording for every command.
    public static func timeoutProblem(_ seconds: Double, option: String = "--timeout") -> String? {
        guard seconds.isFinite, seconds > 0, seconds <= maxTimeoutSeconds else {
            return "\(option) must be more than 0 and at most \(Int(maxTimeoutSeconds)) seconds (got \(seconds))"
        }
        return nil
    }
}
