import AMQP

/// The RabbitMQ names and arguments RaceLab uses; declared idempotently by every process that needs them.
///
/// ```
/// harness ──▶ (default exchange) ──▶ racelab.purchases   quorum, durable, x-delivery-limit, DLX racelab.dlx
///                                    racelab.purchases.shard.0…7   the same, plus x-single-active-consumer
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
    /// On a dead letter whose body was cut to its first ``maxMessageBytes``: the original size in bytes.
    public static let originalBytesHeader = "x-racelab-original-bytes"

    /// Shard queues of strategies that need one consumer per item at a time (`serialized`).
    public static let shardCount = 8

    /// The shard queue serving `itemId`: `racelab.purchases.shard.<item mod shards>`.
    public static func shardQueue(forItem itemId: Int64) -> String {
        shardQueue(Int((itemId % Int64(shardCount) + Int64(shardCount)) % Int64(shardCount)))
    }

    public static func shardQueue(_ shard: Int) -> String { "\(purchases).shard.\(shard)" }

    /// Every shard queue, in shard order.
    public static var shardQueues: [String] { (0..<shardCount).map(shardQueue) }

    /// The queue a request goes to, by what its strategy needs: `racelab.purchases`, or its item's shard.
    public static func queue(for request: PurchaseRequest, delivery: StrategyTraits.Delivery) -> String {
        switch delivery {
        case .shared: purchases
        case .serializedByItem: shardQueue(forItem: request.itemId)
        }
    }

    /// Every queue requests wait in: `racelab.purchases` and the shard queues.
    public static var requestQueues: [String] { [purchases] + shardQueues }

    /// The most dead letters `racelab.purchases.dlq` keeps, and their total size; older ones are dropped first.
    public static let deadLetterLimit: Int64 = 100_000
    public static let deadLetterBytesLimit: Int64 = 64 << 20

    /// The routing key of a run's outcomes.
    public static func outcomeKey(runId: String) -> String { "run.\(runId)" }

    /// Declares every exchange and durable queue. Safe to call concurrently from many processes.
    /// A `racelab.purchases` declared earlier with other arguments is used as it is.
    public static func declare(on amqp: AMQPConnection) throws {
        try amqp.declareExchange(deadLetterExchange, type: "fanout")
        // Bounded: past its limits the oldest dead letters go (a poison flood cannot fill the disk,
        // and every run that browses the queue reads a bounded amount).
        let bounded: [String: AMQPFieldValue] = [
            "x-queue-type": .string("quorum"),
            "x-max-length": .int64(deadLetterLimit),
            "x-max-length-bytes": .int64(deadLetterBytesLimit),
            "x-overflow": .string("drop-head"),
        ]
        do {
            try amqp.declareQueue(deadLetters, durable: true, arguments: bounded)
        } catch let error as AMQPError where error.kind == .preconditionFailed {
            _ = try amqp.inspectQueue(deadLetters)  // declared by an older racelab, unbounded: used as it is
        }
        try amqp.bindQueue(deadLetters, exchange: deadLetterExchange, routingKey: "")
        try declareRequestQueue(purchases, on: amqp)
        for shard in shardQueues {
            try declareRequestQueue(shard, singleActiveConsumer: true, on: amqp)
        }
        try amqp.declareExchange(outcomes, type: "topic")
        try amqp.declareExchange(control, type: "fanout")
    }

    /// Declares a queue requests wait in: quorum, durable, dead-lettering to `racelab.dlx` over the
    /// delivery limit. A queue that exists with other arguments (an older racelab declared it) is used as
    /// it is rather than refused; deleting it gives the current arguments.
    private static func declareRequestQueue(_ name: String, singleActiveConsumer: Bool = false, on amqp: AMQPConnection) throws {
        var arguments: [String: AMQPFieldValue] = [
            "x-queue-type": .string("quorum"),
            "x-delivery-limit": .int64(deliveryLimit),
            "x-dead-letter-exchange": .string(deadLetterExchange),
        ]
        if singleActiveConsumer { arguments["x-single-active-consumer"] = .bool(true) }
        do {
            try amqp.declareQueue(name, durable: true, arguments: arguments)
        } catch let error as AMQPError where error.kind == .preconditionFailed {
            _ = try amqp.inspectQueue(name)
        }
    }
}
