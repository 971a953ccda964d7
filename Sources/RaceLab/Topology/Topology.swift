import AMQP

/// The RabbitMQ names and arguments RaceLab uses; declared idempotently by every process that needs them.
///
/// ```
/// harness ──▶ (default exchange) ──▶ racelab.purchases   quorum, durable, x-delivery-limit, DLX racelab.dlx
///                                        └─ rejected / over the delivery limit ─▶ racelab.dlx ─▶ racelab.purchases.dlq
/// worker  ──▶ racelab.outcomes  (topic, key "run.<run id>") ──▶ each harness's own exclusive queue
/// harness ──▶ racelab.control   (fanout)                    ──▶ each worker thread's own exclusive queue
/// ```
public enum Topology {
    public static let purchases = "racelab.purchases"
    public static let deadLetterExchange = "racelab.dlx"
    public static let deadLetters = "racelab.purchases.dlq"
    public static let outcomes = "racelab.outcomes"
    public static let control = "racelab.control"
    /// Deliveries after which a message that keeps crashing its worker is dead-lettered.
    public static let deliveryLimit: Int64 = 5

    /// The routing key of a run's outcomes.
    public static func outcomeKey(runId: String) -> String { "run.\(runId)" }

    /// Declares every exchange and durable queue. Safe to call concurrently from many processes.
    public static func declare(on amqp: AMQPConnection) throws {
        try amqp.declareExchange(deadLetterExchange, type: "fanout")
        try amqp.declareQueue(deadLetters, durable: true, arguments: ["x-queue-type": .string("quorum")])
        try amqp.bindQueue(deadLetters, exchange: deadLetterExchange, routingKey: "")
        try amqp.declareQueue(
            purchases,
            durable: true,
            arguments: [
                "x-queue-type": .string("quorum"),
                "x-delivery-limit": .int64(deliveryLimit),
                "x-dead-letter-exchange": .string(deadLetterExchange),
            ]
        )
        try amqp.declareExchange(outcomes, type: "topic")
        try amqp.declareExchange(control, type: "fanout")
    }
}
