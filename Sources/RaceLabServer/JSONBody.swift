import Foundation
import Hummingbird

/// A request's JSON object read field by field, so every rejection names the field: wrong JSON types (and
/// `null`: a field is a value or absent) are `400`, a field the route does not know is `422`, well-typed
/// values out of range are left to the caller (`422`).
struct JSONBody {
    /// Bodies larger than this are refused (`413`) before parsing.
    static let maxBytes = 16 * 1024

    private let object: [String: Any]

    /// Whether the body names `key` (a field only some callers may send is refused by its presence).
    func contains(_ key: String) -> Bool { object[key] != nil }

    /// Reads the body and checks that it names only `fields`.
    init(_ request: Request, fields: [String]) async throws {
        var bytes = Data()
        for try await chunk in request.body {
            guard bytes.count + chunk.readableBytes <= Self.maxBytes else {
                throw ProblemDetails(.contentTooLarge, "body: larger than \(Self.maxBytes) bytes", field: "body")
            }
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
        } catch {
            throw ProblemDetails.malformed("body", "not valid JSON")
        }
        guard let object = value as? [String: Any] else { throw ProblemDetails.malformed("body", "expected a JSON object") }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            let name = String(unknown.prefix(40))
            throw ProblemDetails.invalid(name, "not a field of this request (fields: \(fields.joined(separator: ", ")))")
        }
        self.object = object
    }

    /// An integer field; `nil` when absent and `required` is false.
    func integer(_ key: String, required: Bool = true) throws -> Int64? {
        guard let value = object[key] else {
            if required { throw ProblemDetails.malformed(key, "missing") }
            return nil
        }
        guard !Self.isBoolean(value), let number = value as? NSNumber else {
            throw ProblemDetails.malformed(key, "expected an integer, got \(Self.kind(of: value))")
        }
        guard let integer = Int64(number.stringValue) else {
            throw ProblemDetails.malformed(key, "\(number.stringValue.prefix(40)) is not a 64-bit integer")
        }
        return integer
    }

    /// A string field; `nil` when absent.
    func string(_ key: String) throws -> String? {
        guard let value = object[key] else { return nil }
        guard let string = value as? String else {
            throw ProblemDetails.malformed(key, "expected a string, got \(Self.kind(of: value))")
        }
        return string
    }

    /// A boolean field; `nil` when absent.
    func boolean(_ key: String) throws -> Bool? {
        guard let value = object[key] else { return nil }
        guard Self.isBoolean(value), let number = value as? NSNumber else {
            throw ProblemDetails.malformed(key, "expected a boolean, got \(Self.kind(of: value))")
        }
        return number.boolValue
    }

    /// A UUID field (a string); `nil` when absent.
    func uuid(_ key: String) throws -> UUID? {
        guard let text = try string(key) else { return nil }
        guard let id = UUID(uuidString: text) else { throw ProblemDetails.malformed(key, "'\(text.prefix(40))' is not a UUID") }
        return id
    }

    /// Whether JSONSerialization read `true`/`false` here (`value is Bool` is also true of 0 and 1).
    private static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return type(of: number) == type(of: NSNumber(value: true))
    }

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
