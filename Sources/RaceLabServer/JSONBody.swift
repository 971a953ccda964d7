import Foundation
import Hummingbird
import RaceLabCore

/// A request's JSON object read field by field, so every rejection names the field: wrong JSON types (and
/// `null`: a field is a value or absent) are `400`, a field the route does not know is `422`, well-typed
/// values out of range are left to the caller (`422`).
struct JSONBody {
    /// Bodies larger than this are refused (`413`) before parsing.
    static let maxBytes = 16 * 1024

    private let object: JSONObject

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
        do {
            object = try JSONObject(parsing: bytes)
        } catch {
            throw ProblemDetails.malformed("body", error == .notAnObject ? "expected a JSON object" : "not valid JSON")
        }
        if let unknown = object.fields.keys.sorted().first(where: { !fields.contains($0) }) {
            let name = String(unknown.prefix(40))
            throw ProblemDetails.invalid(name, "not a field of this request (fields: \(fields.joined(separator: ", ")))")
        }
    }

    /// The field's value read by `read`, `null` included (a field is a value or absent); nil when absent.
    private func field<T>(_ key: String, _ read: (Any) -> Result<T, JSONObject.Mismatch>) throws -> T? {
        guard let value = object[key] else { return nil }
        switch read(value) {
        case .success(let read): return read
        case .failure(let mismatch): throw ProblemDetails.malformed(key, mismatch.detail)
        }
    }

    /// An integer field; `nil` when absent and `required` is false.
    func integer(_ key: String, required: Bool = true) throws -> Int64? {
        guard let integer = try field(key, JSONObject.integer) else {
            if required { throw ProblemDetails.malformed(key, "missing") }
            return nil
        }
        return integer
    }

    /// A string field; `nil` when absent.
    func string(_ key: String) throws -> String? { try field(key, JSONObject.string) }

    /// A boolean field; `nil` when absent.
    func boolean(_ key: String) throws -> Bool? { try field(key, JSONObject.boolean) }

    /// A UUID field (a string); `nil` when absent.
    func uuid(_ key: String) throws -> UUID? {
        guard let text = try string(key) else { return nil }
        guard let id = UUID(uuidString: text) else { throw ProblemDetails.malformed(key, "'\(text.prefix(40))' is not a UUID") }
        return id
    }
}
