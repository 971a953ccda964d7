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
    public static let deliveryLimit: Int64 = 20
    /// Requests larger than this are dead-lettered unread.
    public static let maxMessageBytes = 4096
    /// Header a worker sets on a request it dead-letters: why, in one line.
    public static let reasonHeader = "x-racelab-reason"
    /// Header naming the worker thread that dead-lettered a request.
    public static let workerHeader = "x-racelab-worker"
    /// Header with the time a worker dead-lettered a request, nanoseconds since the Unix epoch.
    public static let deadLetteredAtHeader = "x-racelab-dead-lettered-at"

    /// The routing key of a run's outcomes.
    public static func outcomeKey(runId: String) -> String { "run.\(runId)" }

    /// Declares every exchange and durable queue. Safe to call concurrently from many processes.
    /// A `racelab.purchases` declared earlier with other arguments is used as it is.
    public static func declare(on amqp: AMQPConnection) throws {
        try amqp.declareExchange(deadLetterExchange, type: "fanout")
        try amqp.declareQueue(deadLetters, durable: true, arguments: ["x-queue-type": .string("quorum")])
        try amqp.bindQueue(deadLetters, exchange: deadLetterExchange, routingKey: "")
        do {
            try amqp.declareQueue(
                purchases,
                durable: true,
                arguments: [
                    "x-queue-type": .string("quorum"),
                    "x-delivery-limit": .int64(deliveryLimit),
                    "x-dead-letter-exchange": .string(deadLetterExchange),
                ]
            )
        } catch let error as AMQPError where error.kind == .preconditionFailed {
            // The queue exists with other arguments (an older racelab declared it): use it as it is
            // rather than refuse to work; deleting it gives the current arguments.
            _ = try amqp.inspectQueue(purchases)
        }
        try amqp.declareExchange(outcomes, type: "topic")
        try amqp.declareExchange(control, type: "fanout")
    }
}
