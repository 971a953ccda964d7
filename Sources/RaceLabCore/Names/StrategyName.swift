import Postgres

/// The name a request uses to ask for a strategy: one of the built-ins (``builtIn``), or a strategy a
/// user defined in a file (see `UserStrategy`). The name travels in every message, so one pool of
/// workers serves every experiment without restarting.
///
/// A name is 1…40 characters: letters, digits, `-`, `_` and `.`, starting with a letter or digit (it
/// appears in tables, report folders, metric labels and file names).
public struct StrategyName: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// A name of valid form, or nil; whether a strategy of that name exists is for a ``StrategyCatalog`` to say.
    public init?(rawValue: String) {
        guard Self.problem(with: rawValue) == nil else { return nil }
        self.rawValue = rawValue
    }

    private init(builtIn: String) { rawValue = builtIn }

    public static let naive = StrategyName(builtIn: "naive")
    public static let pessimistic = StrategyName(builtIn: "pessimistic")
    public static let optimistic = StrategyName(builtIn: "optimistic")
    public static let advisory = StrategyName(builtIn: "advisory")
    /// Up to a batch of ready requests for one item in one locked transaction.
    public static let batched = StrategyName(builtIn: "batched")
    /// The check and the write in one statement.
    public static let atomic = StrategyName(builtIn: "atomic")
    /// `FOR UPDATE NOWAIT`: a held lock is a conflict, retried.
    public static let nowait = StrategyName(builtIn: "nowait")
    /// One row per unit, claimed with `FOR UPDATE SKIP LOCKED`.
    public static let skipLocked = StrategyName(builtIn: "skip-locked")
    /// RabbitMQ serializes each item's buyers (single active consumer per shard queue).
    public static let serialized = StrategyName(builtIn: "serialized")

    /// The built-in strategies, in the order tables, JSON arrays and `--strategy all` use.
    public static let builtIn: [StrategyName] = [
        .naive, .pessimistic, .optimistic, .advisory, .batched, .atomic, .nowait, .skipLocked, .serialized,
    ]

    public var isBuiltIn: Bool { Self.builtIn.contains(self) }

    public var description: String { rawValue }

    /// What is wrong with `text` as a strategy name, or nil when it is a valid one.
    public static func problem(with text: String) -> String? {
        guard !text.isEmpty else { return "a strategy name must not be empty" }
        guard text.utf8.count <= 40 else { return "a strategy name has at most 40 characters (got \(text.utf8.count))" }
        let allowed = text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".")
        }
        guard allowed, let first = text.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: "_"), first != UInt8(ascii: ".")
        else {
            return "a strategy name is letters, digits, '-', '_' and '.', starting with a letter or digit (got '\(text.prefix(40))')"
        }
        return nil
    }

    /// Built-ins in catalogue order first, then every other name alphabetically.
    public static func < (lhs: StrategyName, rhs: StrategyName) -> Bool {
        switch (builtIn.firstIndex(of: lhs), builtIn.firstIndex(of: rhs)) {
        case (let l?, let r?): l < r
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): lhs.rawValue < rhs.rawValue
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let name = StrategyName(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.problem(with: text) ?? "invalid"))
        }
        self = name
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The isolation levels strategies run at (defined with the PostgreSQL wrapper, which opens the transactions).
public typealias IsolationLevel = Postgres.IsolationLevel
