/// A queue's name and counts as the broker reported them in `queue.declare-ok`.
public struct AMQPQueueInfo: Sendable {
    /// The queue name (the server-generated one when declared with `""`).
    public var name: String
    /// Messages ready for delivery (not counting unacknowledged ones).
    public var messageCount: Int
    /// Active consumers.
    public var consumerCount: Int

    /// Creates queue info.
    public init(name: String, messageCount: Int, consumerCount: Int) {
        self.name = name
        self.messageCount = messageCount
        self.consumerCount = consumerCount
    }
}
