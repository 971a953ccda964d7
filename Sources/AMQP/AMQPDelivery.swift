/// One message delivered to a consumer, copied out of librabbitmq's buffers.
///
/// Ack, reject or nack it by ``deliveryTag`` on the same ``AMQPConnection`` that received it.
public struct AMQPDelivery: Sendable {
    /// Tag to ack/reject/nack with; valid only on the receiving connection's channel.
    public var deliveryTag: UInt64
    /// The consumer the message was delivered to.
    public var consumerTag: String
    /// The exchange the message was published to (`""` for the default exchange).
    public var exchange: String
    /// The routing key the message was published with.
    public var routingKey: String
    /// True when the broker delivered this message before (a consumer died or rejected it with requeue).
    public var redelivered: Bool
    /// The message body.
    public var body: [UInt8]
    /// The message properties.
    public var properties: AMQPMessageProperties

    /// Creates a delivery (useful in tests of code that handles deliveries).
    public init(
        deliveryTag: UInt64,
        consumerTag: String,
        exchange: String,
        routingKey: String,
        redelivered: Bool,
        body: [UInt8],
        properties: AMQPMessageProperties
    ) {
        self.deliveryTag = deliveryTag
        self.consumerTag = consumerTag
        self.exchange = exchange
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.body = body
        self.properties = properties
    }
}
