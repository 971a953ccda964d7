import Foundation

/// A JSON object parsed with `JSONSerialization`, read field by field with the type checks and the
/// words the worker's message decoding (``JSONFields``) and the API's request bodies share: every
/// mistake names what was expected and what was there instead.
///
/// What an absent field or a `null` means is the caller's to say; this reads the value that is there.
package struct JSONObject {
    package let fields: [String: Any]

    /// Why bytes are not one JSON object.
    package enum ParseProblem: Error, Equatable {
        case notUTF8, notJSON, notAnObject
    }

    package init(parsing bytes: some Collection<UInt8>) throws(ParseProblem) {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .notUTF8 }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw .notJSON
        }
        guard let object = value as? [String: Any] else { throw .notAnObject }
        fields = object
    }

    /// The value at `key`; nil when absent. `null` is there, as `NSNull`.
    package subscript(key: String) -> Any? { fields[key] }

    /// Whether `key` is absent or `null`.
    package func isAbsentOrNull(_ key: String) -> Bool {
        guard let value = fields[key] else { return true }
        return value is NSNull
    }

    /// `value` as a 64-bit integer, or what is wrong with it ("expected an integer, got a string",
    /// "1e40 is not a 64-bit integer").
    package static func integer(_ value: Any) -> Result<Int64, Mismatch> {
        guard !isBoolean(value), let number = value as? NSNumber else {
            return .failure(Mismatch("expected an integer, got \(kind(of: value))"))
        }
        guard let integer = Int64(number.stringValue) else {
            return .failure(Mismatch("\(number.stringValue.prefix(40)) is not a 64-bit integer"))
        }
        return .success(integer)
    }

    package static func string(_ value: Any) -> Result<String, Mismatch> {
        guard let string = value as? String else { return .failure(Mismatch("expected a string, got \(kind(of: value))")) }
        return .success(string)
    }

    package static func boolean(_ value: Any) -> Result<Bool, Mismatch> {
        guard isBoolean(value), let number = value as? NSNumber else {
            return .failure(Mismatch("expected true or false, got \(kind(of: value))"))
        }
        return .success(number.boolValue)
    }

    /// What is wrong with a field's value, in a few words (without the field's name).
    package struct Mismatch: Error, Equatable {
        package var detail: String
        init(_ detail: String) { self.detail = detail }
    }

    /// Whether JSONSerialization read `true`/`false` here. (`value is Bool` is also true of the numbers 0 and 1.)
    private static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return type(of: number) == type(of: booleanWitness)
    }

    private static let booleanWitness = NSNumber(value: true)

    /// "a boolean", "a number", "a string", "an array", "an object" or "null".
    package static func kind(of value: Any) -> String {
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
