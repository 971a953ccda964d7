import ArgumentParser
import RaceLabCore

// The options that shape a stampede, each declared once here: its name, its help and its range check.
// A command takes the groups it needs with @OptionGroup, in the order its --help lists them. A group
// generic over a Defaults protocol takes that command's defaults (so --help shows them) and, where the
// command means something else by the option, its wording; the shared wording is the protocol's.

/// A group of options that sets some knobs of a `StampedeConfiguration`.
///
/// Its `validate()`, run as the group is parsed, asks `StampedeConfiguration.problem` about the group's
/// knobs alone (every other knob valid), so an out-of-range value gets the same one line from every
/// command, before any server is touched.
protocol StampedeOptionGroup: ParsableArguments {
    /// Sets this group's knobs on `configuration`.
    func apply(to configuration: inout StampedeConfiguration)
}

extension StampedeOptionGroup {
    func validate() throws {
        if let problem = StampedeConfiguration(options: self).problem { throw ValidationError(problem) }
    }
}

extension StampedeConfiguration {
    /// Valid in every knob (one buyer, no stock, the rest `StampedeConfiguration`'s defaults), with `groups` set on it in turn.
    init(options groups: any StampedeOptionGroup...) {
        self.init(buyers: 1, stock: 0)
        for group in groups { group.apply(to: &self) }
    }
}

/// A command's `--buyers`.
protocol BuyersDefaults {
    /// nil: the option is required.
    static var buyers: Int? { get }
    static var buyersHelp: String { get }
}

extension BuyersDefaults {
    static var buyersHelp: String { "Buyers in the stampede, one request each." }
}

/// `--buyers`.
struct BuyersOption<D: BuyersDefaults>: StampedeOptionGroup {
    @Option var count: Int

    init() {
        let help = ArgumentHelp(D.buyersHelp)
        if let buyers = D.buyers {
            _count = Option(wrappedValue: buyers, name: .customLong("buyers"), parsing: .unconditional, help: help)
        } else {
            _count = Option(name: .customLong("buyers"), parsing: .unconditional, help: help)
        }
    }

    func apply(to configuration: inout StampedeConfiguration) { configuration.buyers = count }
}

/// `--stock` and `--items` (only `racelab run` takes them).
struct ItemOptions: StampedeOptionGroup {
    @Option(parsing: .unconditional, help: "Stock of each item before the run.")
    var stock: Int

    @Option(name: .customLong("items"), parsing: .unconditional, help: "Items the buyers are spread over evenly.")
    var count: Int = 1

    func apply(to configuration: inout StampedeConfiguration) {
        configuration.stock = stock
        configuration.items = count
    }
}

/// A command's `--workers` and `--consumers`.
protocol WorkerDefaults {
    static var workers: Int { get }
    static var consumers: Int { get }
    static var workersHelp: String { get }
    static var consumersHelp: String { get }
}

extension WorkerDefaults {
    static var workersHelp: String { "Local worker processes to start for the run (0: use workers already running)." }
    static var consumersHelp: String { "Consumer threads per local worker." }
}

/// `--workers` and `--consumers`.
struct WorkerOptions<D: WorkerDefaults>: StampedeOptionGroup {
    @Option(name: .customLong("workers"), parsing: .unconditional, help: ArgumentHelp(D.workersHelp))
    var count: Int = D.workers

    @Option(parsing: .unconditional, help: ArgumentHelp(D.consumersHelp))
    var consumers: Int = D.consumers

    func apply(to configuration: inout StampedeConfiguration) {
        configuration.workers = count
        configuration.consumersPerWorker = consumers
    }
}

/// A command's `--think-ms` and `--seed`.
protocol RaceDefaults {
    static var thinkMs: Int { get }
    static var seed: UInt64 { get }
}

/// `--think-ms` and `--seed`: how slowly the strategies work and in which order the buyers come.
struct RaceOptions<D: RaceDefaults>: StampedeOptionGroup {
    @Option(name: .customLong("think-ms"), parsing: .unconditional, help: "Milliseconds each strategy holds between read and write.")
    var thinkMs: Int = D.thinkMs

    @Option(parsing: .unconditional, help: "Seed of the buyer order.")
    var seed: UInt64 = D.seed

    func apply(to configuration: inout StampedeConfiguration) {
        configuration.thinkMs = thinkMs
        configuration.seed = seed
    }
}

/// `--quantity` (only `racelab run` takes it).
struct QuantityOption: StampedeOptionGroup {
    @Option(name: .customLong("quantity"), parsing: .unconditional, help: "Units each buyer asks for.")
    var units: Int = 1

    func apply(to configuration: inout StampedeConfiguration) { configuration.quantity = units }
}

/// A command's `--timeout`.
protocol TimeoutDefaults {
    static var timeout: Double { get }
    static var timeoutHelp: String { get }
}

extension TimeoutDefaults {
    static var timeoutHelp: String { "Seconds without any new outcome before the rest are reported indeterminate." }
}

/// `--timeout`, checked by `StampedeConfiguration.timeoutProblem` (through `problem`).
struct TimeoutOption<D: TimeoutDefaults>: StampedeOptionGroup {
    @Option(name: .customLong("timeout"), parsing: .unconditional, help: ArgumentHelp(D.timeoutHelp))
    var seconds: Double = D.timeout

    func apply(to configuration: inout StampedeConfiguration) { configuration.idleTimeoutSeconds = seconds }
}
