import Foundation
import Postgres

/// A JSON object read field by field, so that every rejection names the field and says what is wrong
/// with it — which `JSONDecoder` cannot do for, say, an integer too large for 64 bits.
struct JSONFields {
    private let object: [String: Any]

    /// Parses `bytes` as one JSON object.
    init(_ bytes: [UInt8]) throws(MessageDecodingError) {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw MessageDecodingError(reason: "not UTF-8") }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw MessageDecodingError(reason: "not valid JSON")
        }
        guard let object = value as? [String: Any] else { throw MessageDecodingError(reason: "not a JSON object") }
        self.object = object
    }

    func integer(_ key: String, default fallback: Int64? = nil) throws(MessageDecodingError) -> Int64 {
        guard let value = object[key], !(value is NSNull) else {
            if let fallback { return fallback }
            throw MessageDecodingError(reason: "missing field \(key)")
        }
        guard !Self.isBoolean(value), let number = value as? NSNumber else {
            throw MessageDecodingError(reason: "field \(key): expected an integer, got \(Self.kind(of: value))")
        }
        guard let integer = Int64(number.stringValue) else {
            throw MessageDecodingError(reason: "field \(key): \(number.stringValue) is not a 64-bit integer")
        }
        return integer
    }

    func unsigned(_ key: String, default fallback: UInt64) throws(MessageDecodingError) -> UInt64 {
        guard let value = object[key], !(value is NSNull) else { return fallback }
        guard !Self.isBoolean(value), let number = value as? NSNumber, let integer = UInt64(number.stringValue) else {
            throw MessageDecodingError(reason: "field \(key): expected a non-negative integer")
        }
        return integer
    }

    func string(_ key: String) throws(MessageDecodingError) -> String {
        guard let value = object[key], !(value is NSNull) else { throw MessageDecodingError(reason: "missing field \(key)") }
        guard let string = value as? String else {
            throw MessageDecodingError(reason: "field \(key): expected a string, got \(Self.kind(of: value))")
        }
        return string
    }

    /// The field's string, or nil when it is absent or null.
    func optionalString(_ key: String) throws(MessageDecodingError) -> String? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        return try string(key)
    }

    func uuid(_ key: String) throws(MessageDecodingError) -> UUID {
        let text = try string(key)
        guard let uuid = UUID(uuidString: text) else { throw MessageDecodingError(reason: "field \(key): not a UUID") }
        return uuid
    }

    func bool(_ key: String, default fallback: Bool) throws(MessageDecodingError) -> Bool {
        guard let value = object[key], !(value is NSNull) else { return fallback }
        guard Self.isBoolean(value), let flag = value as? Bool else {
            throw MessageDecodingError(reason: "field \(key): expected true or false, got \(Self.kind(of: value))")
        }
        return flag
    }

    /// Whether JSONSerialization read `true`/`false` here. (`value is Bool` is also true of the numbers 0 and 1.)
    private static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return type(of: number) == type(of: booleanWitness)
    }

    private static let booleanWitness = NSNumber(value: true)

    private static func kind(of value: Any) -> String {
        if isBoolean(value) { return "a boolean" }
        return switch value {
        case is NSNumber: "a number"
        case is String: "a string"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: "null"
        }
    }
}

extension PurchaseRequest {
    /// Reads a request from its JSON, rejecting it with a reason that names the field.
    ///
    /// Required: `requestId`, `runId` (UUIDs), `itemId`, `buyerId` (integers), `strategy` (a known name).
    /// Optional: `quantity` (1), `thinkMs` (0), `publishedAt` (0), `gated` (false), `isolation`,
    /// `strategyVersion`. Whether the strategy exists is for the worker's catalogue to say.
    public init(json bytes: [UInt8]) throws(MessageDecodingError) {
        if let request = PurchaseRequest(flatJSON: bytes) {
            self = request
        } else {
            try self.init(generalJSON: bytes)
        }
    }

    /// The general reader behind ``init(json:)``: any JSON, every rejection worded. The fast reader
    /// must agree with it on everything it accepts.
    init(generalJSON bytes: [UInt8]) throws(MessageDecodingError) {
        let fields = try JSONFields(bytes)
        let strategyName = try fields.string("strategy")
        guard let strategy = StrategyName(rawValue: strategyName) else {
            throw MessageDecodingError(reason: "field strategy: \(StrategyName.problem(with: strategyName) ?? "invalid")")
        }
        let isolation = try fields.optionalString("isolation").map { text throws(MessageDecodingError) in
            guard let level = IsolationLevel(rawValue: text) else {
                throw MessageDecodingError(
                    reason:
                        "field isolation: unknown level '\(text.prefix(40))' (known: \(IsolationLevel.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            return level
        }
        let strategyVersion = try fields.optionalString("strategyVersion")
        if let strategyVersion, !PurchaseRequest.isVersion(strategyVersion) {
            throw MessageDecodingError(reason: "field strategyVersion: expected 16 hexadecimal digits")
        }
        let quantity = try fields.integer("quantity", default: 1)
        let thinkMs = try fields.integer("thinkMs", default: 0)
        guard let quantity = Int(exactly: quantity), let thinkMs = Int(exactly: thinkMs) else {
            throw MessageDecodingError(reason: "field quantity or thinkMs: out of range")
        }
        self.init(
            requestId: try fields.uuid("requestId"),
            runId: try fields.uuid("runId"),
            itemId: try fields.integer("itemId"),
            buyerId: try fields.integer("buyerId"),
            quantity: quantity,
            strategy: strategy,
            thinkMs: thinkMs,
            publishedAt: try fields.unsigned("publishedAt", default: 0),
            gated: try fields.bool("gated", default: false),
            isolation: isolation,
            strategyVersion: strategyVersion,
            trace: try fields.bool("trace", default: false)
        )
    }
}
