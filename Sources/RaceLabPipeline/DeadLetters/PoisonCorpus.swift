import Foundation
import RaceLabCore

/// One malformed request of the poison corpus: what is wrong with it, and what a worker should say.
public struct PoisonMessage: Sendable, Equatable {
    /// A short slug, unique in the corpus: `not-json`, `string-item-id`, …
    public var name: String
    /// What the message is, for people: "itemId is a string".
    public var summary: String
    /// The AMQP message id it is published with, unique per message and run.
    public var messageId: String
    public var body: [UInt8]
    /// Words the dead-letter reason must contain (ignoring case), naming what is wrong.
    public var expectedReason: [String]

    /// Whether `reason` says what is wrong with this message.
    public func isExplained(by reason: String) -> Bool {
        expectedReason.allSatisfy { reason.localizedCaseInsensitiveContains($0) }
    }
}

/// The requests a worker must dead-letter rather than serve, crash on, or retry forever.
///
/// Each breaks exactly one thing and is otherwise a valid pessimistic purchase of an item that exists
/// (`requestId`, `runId`, `buyerId`, `strategy`, `quantity` all well formed), so it fails for the
/// reason its name gives, and a worker that lets it through writes an order that shows.
public enum PoisonCorpus {
    /// An item id no lab ever creates: valid JSON, valid range, no such row.
    public static let missingItemId: Int64 = 999_999_999_999_999
    /// The size of the oversized message, above `Topology.maxMessageBytes`.
    public static let oversizedBytes = 5_000

    /// The corpus for one poison run, its message ids `poison-<first 8 of runId>-<n>`.
    ///
    /// - Parameter itemId: an item that exists, for the fields that are meant to be right.
    public static func messages(runId: UUID, itemId: Int64 = 1) -> [PoisonMessage] {
        let run = runId.uuidString.lowercased()
        let short = run.prefix(8)
        /// A request body that is right except for the fields given (raw JSON values; nil removes the field).
        func request(_ changes: [String: String?] = [:]) -> String {
            var fields: [String: String] = [
                "requestId": "\"\(UUID().uuidString.lowercased())\"",
                "runId": "\"\(run)\"",
                "itemId": "\(itemId)",
                "buyerId": "1",
                "strategy": "\"pessimistic\"",
                "quantity": "1",
            ]
            for (key, value) in changes { fields[key] = value }
            return "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
        let oversized: String = {
            let skeleton = request(["padding": "\"\""])
            return skeleton.replacingOccurrences(
                of: "\"padding\":\"\"",
                with: "\"padding\":\"" + String(repeating: "x", count: oversizedBytes - skeleton.utf8.count) + "\""
            )
        }()
        let entries: [(name: String, summary: String, body: [UInt8], expected: [String])] = [
            ("not-json", "a body that is not JSON", Array("buy one item, please".utf8), ["JSON"]),
            ("string-item-id", "itemId is a string", Array(request(["itemId": "\"\(itemId)\""]).utf8), ["itemId", "string"]),
            (
                "unknown-item", "itemId \(missingItemId): no such item", Array(request(["itemId": "\(missingItemId)"]).utf8),
                ["\(missingItemId)", "exist"]
            ),
            ("negative-item-id", "itemId is -7", Array(request(["itemId": "-7"]).utf8), ["itemId", "-7"]),
            ("missing-item-id", "no itemId field", Array(request(["itemId": nil]).utf8), ["itemId", "missing"]),
            ("not-utf8", "bytes that are not UTF-8", [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D], ["UTF-8"]),
            ("unknown-strategy", "strategy \"fastest\"", Array(request(["strategy": "\"fastest\""]).utf8), ["strategy", "fastest"]),
            ("zero-quantity", "quantity 0", Array(request(["quantity": "0"]).utf8), ["quantity"]),
            ("json-array", "a JSON array, not an object", Array("[\(request())]".utf8), ["object"]),
            ("oversized", "\(oversizedBytes) bytes", Array(oversized.utf8), ["too large"]),
            ("boolean-buyer-id", "buyerId is true", Array(request(["buyerId": "true"]).utf8), ["buyerId", "boolean"]),
            ("empty-body", "an empty body", [], ["JSON"]),
        ]
        return entries.enumerated().map { index, entry in
            PoisonMessage(
                name: entry.name,
                summary: entry.summary,
                messageId: "poison-\(short)-\(index + 1)",
                body: entry.body,
                expectedReason: entry.expected
            )
        }
    }
}
