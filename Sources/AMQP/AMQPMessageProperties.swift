/// The basic properties of a message that RaceLab uses; other properties are neither sent nor decoded.
public struct AMQPMessageProperties: Sendable, Equatable {
    /// Delivery mode 2: the broker writes the message to disk.
    public var persistent: Bool = false
    /// MIME type of the body, e.g. `application/json`.
    public var contentType: String? = nil
    /// Application message id.
    public var messageId: String? = nil
    /// Application correlation id.
    public var correlationId: String? = nil
    /// Seconds since the Unix epoch (AMQP timestamps have one-second resolution).
    public var timestamp: UInt64? = nil
    /// Application headers; RabbitMQ adds `x-death` etc. on dead-lettered messages (complex values are skipped).
    public var headers: [String: AMQPFieldValue] = [:]

    /// Creates properties; every field is optional.
    public init(
        persistent: Bool = false,
        contentType: String? = nil,
        messageId: String? = nil,
        correlationId: String? = nil,
        timestamp: UInt64? = nil,
        headers: [String: AMQPFieldValue] = [:]
    ) {
        self.persistent = persistent
        self.contentType = contentType
        self.messageId = messageId
        self.correlationId = correlationId
        self.timestamp = timestamp
        self.headers = headers
    }
}
