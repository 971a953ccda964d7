import Foundation
import RaceLabCore

/// What became of each message of a poison run, and whether the lab came through it unharmed.
///
/// Encodes as `{runId, messages: [{name, messageId, deadLettered, reason}], deadLettered, published,
/// ordersWritten, workersAlive}`; `reason` is null for a message that was not dead-lettered.
public struct PoisonReport: Sendable, Equatable, Encodable {
    /// The fate of one poison message.
    public struct Entry: Sendable, Equatable, Encodable {
        public var name: String
        public var messageId: String
        /// What the message was, for the table.
        public var summary: String
        public var deadLettered: Bool
        /// The dead-letter reason; nil when the message never reached the dead-letter queue.
        public var reason: String?

        private enum CodingKeys: String, CodingKey {
            case name, messageId, deadLettered, reason
        }

        public init(name: String, messageId: String, summary: String, deadLettered: Bool, reason: String?) {
            self.name = name
            self.messageId = messageId
            self.summary = summary
            self.deadLettered = deadLettered
            self.reason = reason
        }

        /// Writes `reason` even when null.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(messageId, forKey: .messageId)
            try container.encode(deadLettered, forKey: .deadLettered)
            try container.encode(reason, forKey: .reason)
        }
    }

    /// The `runId` every poison message of the run carries in its body.
    public var runId: UUID
    public var messages: [Entry]
    /// Orders committed while the poison was on the queue; any is a bug.
    public var ordersWritten: Int
    /// Whether every worker survived the poison.
    public var workersAlive: Bool

    public init(runId: UUID, messages: [Entry], ordersWritten: Int, workersAlive: Bool) {
        self.runId = runId
        self.messages = messages
        self.ordersWritten = ordersWritten
        self.workersAlive = workersAlive
    }

    public var published: Int { messages.count }
    public var deadLettered: Int { messages.count { $0.deadLettered } }

    /// Every message dead-lettered, no order written, no worker lost.
    public var passed: Bool { deadLettered == published && ordersWritten == 0 && workersAlive }

    /// What went wrong, in one line; nil when the run passed.
    public var problem: String? {
        var problems: [String] = []
        if deadLettered < published { problems.append("\(published - deadLettered) of \(published) poison messages were not dead-lettered") }
        if ordersWritten > 0 { problems.append("\(ordersWritten) order(s) written during the poison run") }
        if !workersAlive { problems.append("a worker died") }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    private enum CodingKeys: String, CodingKey {
        case runId, messages, deadLettered, published, ordersWritten, workersAlive
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runId, forKey: .runId)
        try container.encode(messages, forKey: .messages)
        try container.encode(deadLettered, forKey: .deadLettered)
        try container.encode(published, forKey: .published)
        try container.encode(ordersWritten, forKey: .ordersWritten)
        try container.encode(workersAlive, forKey: .workersAlive)
    }

    /// One row per message (name, what it was, its fate), then a summary line.
    public func table() -> String {
        let header = ["message", "what it was", "fate"]
        let rows = messages.map { entry in
            [
                entry.name, entry.summary,
                entry.deadLettered ? "dead-lettered: \(entry.reason ?? "unknown")" : "NOT dead-lettered (still queued / lost)",
            ]
        }
        var lines = TextTable(header: header, rows: rows).lines()
        lines.append("")
        lines.append(
            "\(deadLettered) of \(published) dead-lettered, workers \(workersAlive ? "alive" : "NOT alive"), "
                + "\(ordersWritten) order(s) written during the run (run \(runId.uuidString))"
        )
        return lines.joined(separator: "\n")
    }
}
