import AMQP
import Foundation
import RaceLabCore

/// One message in `racelab.purchases.dlq`, and why it is there.
///
/// The worker dead-letters a request it cannot serve itself, adding the reason, its name and the time as
/// headers (`Topology.reasonHeader`, …); the broker dead-letters the rest (over the delivery limit, rejected)
/// with only `x-first-death-reason`. Encodes as
/// `{reason, messageId, worker, deadLetteredAt, body, runId?, requestId?}`.
public struct DeadLetter: Sendable, Equatable {
    /// Why the message was dead-lettered, in one line (see ``reason(in:)``).
    public var reason: String
    /// The body as text; bytes that are not UTF-8 show as U+FFFD.
    public var body: String
    /// The AMQP message id the publisher gave it, if any.
    public var messageId: String?
    /// The worker (name/consumer) that dead-lettered it; nil when the broker did.
    public var worker: String?
    /// When the worker dead-lettered it, nanoseconds since the Unix epoch; nil when the broker did.
    public var deadLetteredAt: UInt64?
    /// The body's `runId`, when the body is a JSON object carrying a UUID there.
    public var runId: UUID?
    /// The body's `requestId`, when the body is a JSON object carrying a UUID there.
    public var requestId: UUID?

    public init(
        reason: String,
        body: String,
        messageId: String? = nil,
        worker: String? = nil,
        deadLetteredAt: UInt64? = nil,
        runId: UUID? = nil,
        requestId: UUID? = nil
    ) {
        self.reason = reason
        self.body = body
        self.messageId = messageId
        self.worker = worker
        self.deadLetteredAt = deadLetteredAt
        self.runId = runId
        self.requestId = requestId
    }

    /// Reads a dead letter from a message taken off the dead-letter queue. Never fails: what cannot be read stays nil.
    public init(body: [UInt8], properties: AMQPMessageProperties) {
        let headers = properties.headers
        let ids = Self.requestIds(in: body)
        self.init(
            reason: Self.reason(in: headers),
            body: String(decoding: body, as: UTF8.self),
            messageId: properties.messageId,
            worker: headers[Topology.workerHeader].flatMap(Self.text),
            deadLetteredAt: headers[Topology.deadLetteredAtHeader].flatMap(Self.nanoseconds),
            runId: ids.runId,
            requestId: ids.requestId
        )
    }

    /// Set by RabbitMQ on a message it dead-letters itself: `delivery_limit`, `rejected`, `expired`, `maxlen`.
    static let firstDeathReasonHeader = "x-first-death-reason"

    /// The reason of a dead letter: the worker's `x-racelab-reason`, else the broker's `x-first-death-reason`
    /// (`delivery_limit`, `rejected`, …), else `unknown`. Values that are not strings are ignored.
    public static func reason(in headers: [String: AMQPFieldValue]) -> String {
        for key in [Topology.reasonHeader, firstDeathReasonHeader] {
            if let text = headers[key].flatMap(text), !text.isEmpty { return text }
        }
        return "unknown"
    }

    /// The body on one line, cut to `maxLength` characters with an ellipsis, for tables.
    public func displayBody(maxLength: Int = 48) -> String {
        let oneLine = body.map { $0.isNewline || $0 == "\t" ? " " : String($0) }.joined()
        guard oneLine.count > maxLength else { return oneLine }
        return String(oneLine.prefix(max(0, maxLength - 1))) + "…"
    }

    private static func text(_ value: AMQPFieldValue) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    private static func nanoseconds(_ value: AMQPFieldValue) -> UInt64? {
        switch value {
        case .int64(let number): UInt64(exactly: number)
        case .int32(let number): UInt64(exactly: number)
        default: nil
        }
    }

    /// `runId` and `requestId` of a body that is a JSON object; best effort, nil for anything else.
    private static func requestIds(in body: [UInt8]) -> (runId: UUID?, requestId: UUID?) {
        guard !body.isEmpty,
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
        else { return (nil, nil) }
        func uuid(_ key: String) -> UUID? { (object[key] as? String).flatMap { UUID(uuidString: $0) } }
        return (uuid("runId"), uuid("requestId"))
    }
}

extension DeadLetter: Codable {
    private enum CodingKeys: String, CodingKey {
        case reason, messageId, worker, deadLetteredAt, body, runId, requestId
    }

    /// Writes `messageId`, `worker` and `deadLetteredAt` even when null, so every object has the same keys;
    /// `runId` and `requestId` only when the body had them.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reason, forKey: .reason)
        try container.encode(messageId, forKey: .messageId)
        try container.encode(worker, forKey: .worker)
        try container.encode(deadLetteredAt, forKey: .deadLetteredAt)
        try container.encode(body, forKey: .body)
        try container.encodeIfPresent(runId, forKey: .runId)
        try container.encodeIfPresent(requestId, forKey: .requestId)
    }
}
