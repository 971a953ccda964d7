import Foundation

/// Encodes and decodes the JSON messages that cross RabbitMQ.
///
/// A value type holding its own encoder and decoder, so each thread can keep one and reuse it
/// (the Foundation coders are not shared across threads here).
public struct MessageCodec {
    private let encoder: JSONEncoder
    private let decoder: JSONDecoder

    public init() {
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        decoder = JSONDecoder()
    }

    /// JSON bytes of any message (requests and outcomes, the hot path, without `JSONEncoder`).
    public func encode<T: Encodable>(_ message: T) throws -> [UInt8] {
        if let request = message as? PurchaseRequest { return request.flatJSON }
        if let outcome = message as? OutcomeMessage, outcome.trace == nil {
            var writer = FlatJSONWriter()
            outcome.write(to: &writer)
            return writer.bytes
        }
        // Traces are nested: the general encoder writes them (a traced run pays for it; others do not).
        if let outcomes = message as? [OutcomeMessage], outcomes.allSatisfy({ $0.trace == nil }) { return OutcomeMessage.flatJSON(outcomes) }
        return Array(try encoder.encode(message))
    }

    /// Decodes a message, throwing `MessageDecodingError` with a one-line reason.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(MessageDecodingError) -> T {
        if type == OutcomeMessage.self, let object = FlatJSON.object(bytes), let outcome = OutcomeMessage(flat: object) as? T {
            return outcome
        }
        do {
            return try decoder.decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw MessageDecodingError(reason: Self.describe(error))
        } catch {
            throw MessageDecodingError(reason: "invalid JSON")
        }
    }

    /// A short reason for a decoding failure, naming the field: `missing field itemId`, `field itemId: expected Int64`.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, _):
            return "missing field \(key.stringValue)"
        case .typeMismatch(let type, let context):
            return "field \(path(context)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "field \(path(context)): expected \(type), got null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "field \(path(context)): \(context.debugDescription)"
        @unknown default:
            return "cannot decode message"
        }
    }
}

/// Why a message could not be decoded, in a few words naming the field.
public struct MessageDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
