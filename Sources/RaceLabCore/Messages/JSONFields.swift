import Foundation
import Postgres

/// A JSON object read field by field, so that every rejection names the field and says what is wrong
/// with it — which `JSONDecoder` cannot do for, say, an integer too large for 64 bits.
struct JSONFields {
    private let object: JSONObject

    /// Parses `bytes` as one JSON object.
    init(_ bytes: [UInt8]) throws(MessageDecodingError) {
        do {
            object = try JSONObject(parsing: bytes)
        } catch {
            switch error {
            case .notUTF8: throw MessageDecodingError(reason: "not UTF-8")
            case .notJSON: throw MessageDecodingError(reason: "not valid JSON")
            case .notAnObject: throw MessageDecodingError(reason: "not a JSON object")
            }
        }
    }

    /// The field's value read by `read`; absent or `null`: `fallback`, or "missing field" without one.
    private func field<T>(
        _ key: String,
        default fallback: T? = nil,
        _ read: (Any) -> Result<T, JSONObject.Mismatch>
    ) throws(MessageDecodingError) -> T {
        guard !object.isAbsentOrNull(key), let value = object[key] else {
            if let fallback { return fallback }
            throw MessageDecodingError(reason: "missing field \(key)")
        }
        switch read(value) {
        case .success(let read): return read
        case .failure(let mismatch): throw MessageDecodingError(reason: "field \(key): \(mismatch.detail)")
        }
    }

    func integer(_ key: String, default fallback: Int64? = nil) throws(MessageDecodingError) -> Int64 {
        try field(key, default: fallback, JSONObject.integer)
    }

    func unsigned(_ key: String, default fallback: UInt64) throws(MessageDecodingError) -> UInt64 {
        try field(key, default: fallback) { value in
            guard case .success(let integer) = JSONObject.integer(value), let unsigned = UInt64(exactly: integer) else {
                return .failure(JSONObject.Mismatch("expected a non-negative integer"))
            }
            return .success(unsigned)
        }
    }

    func string(_ key: String) throws(MessageDecodingError) -> String {
        try field(key, JSONObject.string)
    }

    /// The field's string, or nil when it is absent or null.
    func optionalString(_ key: String) throws(MessageDecodingError) -> String? {
        object.isAbsentOrNull(key) ? nil : try string(key)
    }

    func uuid(_ key: String) throws(MessageDecodingError) -> UUID {
        let text = try string(key)
        guard let uuid = UUID(uuidString: text) else { throw MessageDecodingError(reason: "field \(key): not a UUID") }
        return uuid
    }

    func bool(_ key: String, default fallback: Bool) throws(MessageDecodingError) -> Bool {
        try field(key, default: fallback, JSONObject.boolean)
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
