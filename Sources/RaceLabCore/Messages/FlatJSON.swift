import Foundation
import Postgres

/// The hot path's JSON: a reader and a writer for the flat objects the lab's own components exchange
/// (requests and outcomes), several times faster than the Foundation coders.
///
/// The reader is deliberately narrow: ASCII strings without escapes, integers without fraction or
/// exponent, booleans, null, and no nesting. Anything else — and any duplicate key — makes it give up
/// (return nil), and the caller falls back to the general decoder, which accepts the rest of JSON and
/// words the errors. So it changes how fast a message is read, never what it means.
enum FlatJSON {
    enum Value: Equatable {
        case string(String)
        case integer(Int64)
        case bool(Bool)
        case null
    }

    /// One object's fields, in the order written (objects here have a dozen fields: a list beats a dictionary).
    struct Object {
        var fields: [(key: String, value: Value)] = []

        subscript(key: String) -> Value? {
            fields.first { $0.key == key }?.value
        }

        func string(_ key: String) -> String? {
            if case .string(let text) = self[key] { return text }
            return nil
        }

        func integer(_ key: String) -> Int64? {
            if case .integer(let number) = self[key] { return number }
            return nil
        }

        func uuid(_ key: String) -> UUID? {
            string(key).flatMap(FlatJSON.uuid)
        }

        /// The field's integer; `fallback` when it is absent; nil when it holds anything else (null included).
        func integer(_ key: String, default fallback: Int64) -> Int64? {
            guard let value = self[key] else { return fallback }
            if case .integer(let number) = value { return number }
            return nil
        }
    }

    /// Reads one object, or nil when `bytes` is not one (or not within this reader's subset).
    static func object(_ bytes: [UInt8]) -> Object? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer: buffer)
            guard let object = reader.object(), reader.atEnd() else { return nil }
            return object
        }
    }

    /// Reads an array of objects, or nil.
    static func objects(_ bytes: [UInt8]) -> [Object]? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer: buffer)
            guard reader.take(UInt8(ascii: "[")) else { return nil }
            var objects: [Object] = []
            if reader.take(UInt8(ascii: "]")) { return reader.atEnd() ? objects : nil }
            repeat {
                guard let object = reader.object() else { return nil }
                objects.append(object)
            } while reader.take(UInt8(ascii: ","))
            guard reader.take(UInt8(ascii: "]")), reader.atEnd() else { return nil }
            return objects
        }
    }

    /// A UUID from its 36-character text, either case; nil for anything else.
    static func uuid(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { bytes -> UUID? in
            guard bytes.count == 36 else { return nil }
            var value: [UInt8] = []
            value.reserveCapacity(16)
            var index = 0
            while index < 36 {
                if index == 8 || index == 13 || index == 18 || index == 23 {
                    guard bytes[index] == UInt8(ascii: "-") else { return nil }
                    index += 1
                    continue
                }
                guard let high = hexDigit(bytes[index]), let low = hexDigit(bytes[index + 1]) else { return nil }
                value.append(high << 4 | low)
                index += 2
            }
            return UUID(
                uuid: (
                    value[0], value[1], value[2], value[3], value[4], value[5], value[6], value[7],
                    value[8], value[9], value[10], value[11], value[12], value[13], value[14], value[15]
                )
            )
        }
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private struct Reader {
        let buffer: UnsafeBufferPointer<UInt8>
        var index = 0

        init(buffer: UnsafeBufferPointer<UInt8>) { self.buffer = buffer }

        mutating func skipSpace() {
            while index < buffer.count, [0x20, 0x0A, 0x0D, 0x09].contains(buffer[index]) { index += 1 }
        }

        /// Skips space, then consumes `byte` if it is next.
        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < buffer.count, buffer[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func atEnd() -> Bool {
            skipSpace()
            return index == buffer.count
        }

        mutating func object() -> Object? {
            guard take(UInt8(ascii: "{")) else { return nil }
            var object = Object()
            if take(UInt8(ascii: "}")) { return object }
            repeat {
                skipSpace()
                guard let key = string(), take(UInt8(ascii: ":")), let value = value(), object[key] == nil else { return nil }
                object.fields.append((key, value))
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}")) ? object : nil
        }

        /// A string of printable ASCII without escapes; the opening quote is next.
        mutating func string() -> String? {
            guard index < buffer.count, buffer[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            var end = start
            while end < buffer.count {
                let byte = buffer[end]
                if byte == UInt8(ascii: "\"") { break }
                guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
                end += 1
            }
            guard end < buffer.count else { return nil }
            index = end + 1
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
        }

        mutating func value() -> Value? {
            skipSpace()
            guard index < buffer.count else { return nil }
            switch buffer[index] {
            case UInt8(ascii: "\""):
                return string().map(Value.string)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return integer().map(Value.integer)
            case UInt8(ascii: "t"):
                return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"):
                return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"):
                return literal("null") ? .null : nil
            default:
                return nil
            }
        }

        /// `-?(0|[1-9][0-9]*)` that fits in 64 bits, not followed by a fraction or exponent.
        mutating func integer() -> Int64? {
            var position = index
            let negative = buffer[position] == UInt8(ascii: "-")
            if negative { position += 1 }
            let digitsStart = position
            var magnitude: UInt64 = 0
            while position < buffer.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(buffer[position]) {
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(buffer[position] - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                magnitude = sum
                position += 1
            }
            let digits = position - digitsStart
            guard digits > 0, !(digits > 1 && buffer[digitsStart] == UInt8(ascii: "0")) else { return nil }
            if position < buffer.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(buffer[position]) { return nil }
            let value: Int64
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
                value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            } else {
                guard magnitude <= UInt64(Int64.max) else { return nil }
                value = Int64(magnitude)
            }
            index = position
            return value
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= buffer.count else { return false }
            for offset in 0..<count where buffer[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }
    }
}

/// Writes the flat JSON objects of requests and outcomes straight into bytes, keys sorted as
/// `JSONEncoder` with `.sortedKeys` would write them.
struct FlatJSONWriter {
    private(set) var bytes: [UInt8] = []
    private var fieldCount = 0

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        fieldCount = 0
    }

    mutating func endObject() { bytes.append(UInt8(ascii: "}")) }

    mutating func append(_ ascii: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount))
    }

    private mutating func key(_ name: StaticString) {
        if fieldCount > 0 { bytes.append(UInt8(ascii: ",")) }
        fieldCount += 1
        bytes.append(UInt8(ascii: "\""))
        append(name)
        append("\":")
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        quoted(value)
    }

    mutating func field(_ name: StaticString, _ value: UUID) {
        key(name)
        quoted(value.uuidString)
    }

    mutating func field<Number: BinaryInteger>(_ name: StaticString, _ value: Number) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        value ? append("true") : append("false")
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    private mutating func quoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\r"): append("\\r")
            case UInt8(ascii: "\t"): append("\\t")
            case 0..<0x20:
                append("\\u00")
                bytes.append(Self.hex[Int(byte >> 4)])
                bytes.append(Self.hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}

extension PurchaseRequest {
    /// Reads a request the fast way; nil when the bytes need the general decoder (to accept or to word the rejection).
    init?(flatJSON bytes: [UInt8]) {
        guard let object = FlatJSON.object(bytes),
            let requestId = object.uuid("requestId"),
            let runId = object.uuid("runId"),
            let itemId = object.integer("itemId"),
            let buyerId = object.integer("buyerId"),
            let strategy = object.string("strategy").flatMap(StrategyName.init(rawValue:)),
            let quantity = object.integer("quantity", default: 1).flatMap({ Int(exactly: $0) }),
            let thinkMs = object.integer("thinkMs", default: 0).flatMap({ Int(exactly: $0) }),
            let publishedAt = object.integer("publishedAt", default: 0).flatMap({ UInt64(exactly: $0) })
        else { return nil }
        let gated: Bool
        switch object["gated"] {
        case nil: gated = false
        case .bool(let flag): gated = flag
        default: return nil
        }
        var isolation: IsolationLevel?
        switch object["isolation"] {
        case nil: break
        case .string(let text):
            guard let level = IsolationLevel(rawValue: text) else { return nil }
            isolation = level
        default: return nil
        }
        let trace: Bool
        switch object["trace"] {
        case nil: trace = false
        case .bool(let flag): trace = flag
        default: return nil
        }
        var strategyVersion: String?
        switch object["strategyVersion"] {
        case nil: break
        case .string(let text):
            guard PurchaseRequest.isVersion(text) else { return nil }
            strategyVersion = text
        default: return nil
        }
        self.init(
            requestId: requestId,
            runId: runId,
            itemId: itemId,
            buyerId: buyerId,
            quantity: quantity,
            strategy: strategy,
            thinkMs: thinkMs,
            publishedAt: publishedAt,
            gated: gated,
            isolation: isolation,
            strategyVersion: strategyVersion,
            trace: trace
        )
    }

    /// The request's JSON, keys sorted.
    var flatJSON: [UInt8] {
        var writer = FlatJSONWriter()
        writer.beginObject()
        writer.field("buyerId", buyerId)
        writer.field("gated", gated)
        if let isolation { writer.field("isolation", isolation.rawValue) }
        writer.field("itemId", itemId)
        writer.field("publishedAt", publishedAt)
        writer.field("quantity", quantity)
        writer.field("requestId", requestId)
        writer.field("runId", runId)
        writer.field("strategy", strategy.rawValue)
        if let strategyVersion { writer.field("strategyVersion", strategyVersion) }
        writer.field("thinkMs", thinkMs)
        if trace { writer.field("trace", true) }
        writer.endObject()
        return writer.bytes
    }
}

extension OutcomeMessage {
    /// Reads an outcome the fast way; nil when the object needs the general decoder.
    init?(flat object: FlatJSON.Object) {
        guard let requestId = object.uuid("requestId"),
            let runId = object.uuid("runId"),
            let itemId = object.integer("itemId"),
            let strategy = object.string("strategy").flatMap(StrategyName.init(rawValue:)),
            let outcome = object.string("outcome").flatMap(PurchaseOutcome.init(rawValue:)),
            let retries = object.integer("retries").flatMap({ Int(exactly: $0) }),
            let aborts = object.integer("aborts", default: 0).flatMap({ Int(exactly: $0) }),
            let worker = object.string("worker"),
            let finishedAt = object.integer("finishedAt").flatMap({ UInt64(exactly: $0) })
        else { return nil }
        let error: String?
        switch object["error"] {
        case nil, .null: error = nil
        case .string(let text): error = text
        default: return nil
        }
        self.init(
            requestId: requestId,
            runId: runId,
            itemId: itemId,
            strategy: strategy,
            outcome: outcome,
            retries: retries,
            aborts: aborts,
            worker: worker,
            finishedAt: finishedAt,
            error: error
        )
    }

    func write(to writer: inout FlatJSONWriter) {
        writer.beginObject()
        if aborts > 0 { writer.field("aborts", aborts) }
        if let error { writer.field("error", error) }
        writer.field("finishedAt", finishedAt)
        writer.field("itemId", itemId)
        writer.field("outcome", outcome.rawValue)
        writer.field("requestId", requestId)
        writer.field("retries", retries)
        writer.field("runId", runId)
        writer.field("strategy", strategy.rawValue)
        writer.field("worker", worker)
        writer.endObject()
    }

    /// Outcomes as one JSON array.
    static func flatJSON(_ outcomes: [OutcomeMessage]) -> [UInt8] {
        var writer = FlatJSONWriter(capacity: 256 * outcomes.count + 2)
        writer.append("[")
        for (index, outcome) in outcomes.enumerated() {
            if index > 0 { writer.append(",") }
            outcome.write(to: &writer)
        }
        writer.append("]")
        return writer.bytes
    }
}
