import CRabbitMQ

/// Consumers, deliveries and their acknowledgements.
extension AMQPConnection {
    /// Limits how many unacknowledged messages the broker sends each consumer (`basic.qos`, per consumer).
    ///
    /// Blocks for one round trip. Applies to consumers started afterwards; restored if the channel is reopened.
    public func setPrefetch(_ count: UInt16) throws {
        try ensureOpen()
        amqp_basic_qos(state, Self.channel, 0, count, 0)
        try check(amqp_get_rpc_reply(state), while: "setting prefetch \(count)")
        prefetch = count
    }

    /// Starts a consumer on `queue`; its messages arrive through ``nextDelivery(timeout:)``.
    ///
    /// Blocks for one round trip. With `noAck` the broker forgets messages as it sends them.
    /// - Returns: the consumer tag (the server's when `consumerTag` is empty).
    /// - Throws: `.notFound` for a missing queue, `.accessRefused` when another connection consumes
    ///   exclusively (the connection stays usable).
    @discardableResult
    public func consume(queue: String, noAck: Bool = false, exclusive: Bool = false, consumerTag: String = "") throws -> String {
        try ensureOpen()
        let ok = withCArena { arena in
            amqp_basic_consume(
                state,
                Self.channel,
                arena.bytes(queue),
                arena.bytes(consumerTag),
                0,
                noAck ? 1 : 0,
                exclusive ? 1 : 0,
                amqp_empty_table
            )
        }
        try check(amqp_get_rpc_reply(state), while: "starting a consumer on queue '\(queue)'")
        let tag = ok.map { $0.pointee.consumer_tag.string } ?? consumerTag
        consumers[tag] = queue
        return tag
    }

    /// Stops a consumer. Blocks for one round trip.
    ///
    /// Messages already sent to it still arrive through ``nextDelivery(timeout:)`` and must be acked or rejected.
    public func cancel(consumerTag: String) throws {
        try ensureOpen()
        withCArena { arena in _ = amqp_basic_cancel(state, Self.channel, arena.bytes(consumerTag)) }
        try check(amqp_get_rpc_reply(state), while: "cancelling consumer '\(consumerTag)'")
        consumers[consumerTag] = nil
    }

    /// Waits up to `timeout` for the next message to any consumer on this connection.
    ///
    /// Blocks the thread; services heartbeats and records publisher confirms that arrive meanwhile.
    /// Call it in a loop with a timeout of a second or two so heartbeats keep flowing.
    /// - Returns: the delivery, or nil when `timeout` passes without one.
    /// - Throws: when the server closes the channel (reply code and text; the channel is reopened but
    ///   consumers are gone) or the connection, or cancels a consumer (`.channelClosed`, naming the queue).
    public func nextDelivery(timeout: Duration) throws -> AMQPDelivery? {
        try ensureOpen()
        if let delivery = popPendingDelivery() {
            return delivery
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            releaseBuffersIfIdle()
            var remaining = timeval(deadline - .now)
            var envelope = amqp_envelope_t()
            let reply = amqp_consume_message(state, &envelope, &remaining, 0)
            switch reply.reply_type {
            case AMQP_RESPONSE_NORMAL:
                defer { amqp_destroy_envelope(&envelope) }
                return AMQPDelivery(
                    deliveryTag: envelope.delivery_tag,
                    consumerTag: envelope.consumer_tag.string,
                    exchange: envelope.exchange.string,
                    routingKey: envelope.routing_key.string,
                    redelivered: envelope.redelivered != 0,
                    body: envelope.message.body.array,
                    properties: AMQPMessageProperties(envelope.message.properties)
                )
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_TIMEOUT.rawValue:
                return nil
            case AMQP_RESPONSE_LIBRARY_EXCEPTION where reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue:
                // A frame other than basic.deliver is next (a confirm, a close…): take it off and handle it.
                var frame = amqp_frame_t()
                try check(status: amqp_simple_wait_frame(state, &frame), while: "waiting for a delivery")
                try handle(frame)
                if let delivery = popPendingDelivery() {
                    return delivery
                }
                if ContinuousClock.now >= deadline {
                    return nil
                }
            default:
                try check(reply, while: "waiting for a delivery")
            }
        }
    }

    /// Acknowledges a delivery (and, with `multiple`, every earlier one). Does not wait for the server.
    ///
    /// An unknown tag makes the server close the channel with 406, reported by a later call.
    public func ack(_ deliveryTag: UInt64, multiple: Bool = false) throws {
        try ensureOpen()
        try check(status: amqp_basic_ack(state, Self.channel, deliveryTag, multiple ? 1 : 0), while: "acknowledging delivery \(deliveryTag)")
    }

    /// Rejects one delivery; without `requeue` the broker dead-letters it (or drops it). Does not wait.
    public func reject(_ deliveryTag: UInt64, requeue: Bool) throws {
        try ensureOpen()
        try check(status: amqp_basic_reject(state, Self.channel, deliveryTag, requeue ? 1 : 0), while: "rejecting delivery \(deliveryTag)")
    }

    /// Negatively acknowledges a delivery (and, with `multiple`, every earlier one). Does not wait.
    public func nack(_ deliveryTag: UInt64, multiple: Bool = false, requeue: Bool) throws {
        try ensureOpen()
        try check(
            status: amqp_basic_nack(state, Self.channel, deliveryTag, multiple ? 1 : 0, requeue ? 1 : 0),
            while: "nacking delivery \(deliveryTag)"
        )
    }
}
