import CRabbitMQ

/// Exchanges, queues and bindings: each call is one synchronous RPC on channel 1.
extension AMQPConnection {
    /// Declares an exchange (`direct`, `fanout`, `topic`, `headers`), or checks an existing one matches.
    ///
    /// Blocks for one round trip. Throws `.preconditionFailed` if it exists with other settings
    /// (the channel is reopened, the connection stays usable).
    public func declareExchange(_ name: String, type: String, durable: Bool = true, autoDelete: Bool = false) throws {
        try ensureOpen()
        withCArena { arena in
            _ = amqp_exchange_declare(
                state,
                Self.channel,
                arena.bytes(name),
                arena.bytes(type),
                0,
                durable ? 1 : 0,
                autoDelete ? 1 : 0,
                0,
                amqp_empty_table
            )
        }
        try check(amqp_get_rpc_reply(state), while: "declaring exchange '\(name)'")
    }

    /// Declares a queue, or checks an existing one matches; `""` asks the server to name it.
    ///
    /// Blocks for one round trip. `arguments` carries `x-queue-type`, `x-delivery-limit`,
    /// `x-dead-letter-exchange` and friends.
    /// - Returns: the queue's name (the generated one for `""`) and its current counts.
    /// - Throws: `.preconditionFailed` if the queue exists with other settings or arguments,
    ///   `.accessRefused` if it is exclusive to another connection (the connection stays usable).
    @discardableResult
    public func declareQueue(
        _ name: String,
        durable: Bool = true,
        exclusive: Bool = false,
        autoDelete: Bool = false,
        arguments: [String: AMQPFieldValue] = [:]
    ) throws -> AMQPQueueInfo {
        try queueDeclare(name, passive: false, durable: durable, exclusive: exclusive, autoDelete: autoDelete, arguments: arguments)
    }

    /// Reports a queue's message and consumer counts without changing it (a passive declare).
    ///
    /// Blocks for one round trip.
    /// - Throws: `.notFound` if the queue does not exist; the connection stays usable.
    public func inspectQueue(_ name: String) throws -> AMQPQueueInfo {
        do {
            return try queueDeclare(name, passive: true, durable: false, exclusive: false, autoDelete: false, arguments: [:])
        } catch let error as AMQPError where error.kind == .notFound {
            throw AMQPError(
                kind: .notFound,
                message: "queue '\(name)' not found on RabbitMQ at \(endpoint) (\(error.replyCode ?? 404) NOT_FOUND)",
                replyCode: error.replyCode
            )
        }
    }

    private func queueDeclare(
        _ name: String,
        passive: Bool,
        durable: Bool,
        exclusive: Bool,
        autoDelete: Bool,
        arguments: [String: AMQPFieldValue]
    ) throws -> AMQPQueueInfo {
        try ensureOpen()
        let ok = withCArena { arena in
            amqp_queue_declare(
                state,
                Self.channel,
                arena.bytes(name),
                passive ? 1 : 0,
                durable ? 1 : 0,
                exclusive ? 1 : 0,
                autoDelete ? 1 : 0,
                arena.table(arguments)
            )
        }
        try check(amqp_get_rpc_reply(state), while: passive ? "inspecting queue '\(name)'" : "declaring queue '\(name)'")
        guard let ok else {
            throw AMQPError(kind: .protocolError, message: "RabbitMQ at \(endpoint) sent an empty reply while declaring queue '\(name)'")
        }
        return AMQPQueueInfo(
            name: ok.pointee.queue.string,
            messageCount: Int(ok.pointee.message_count),
            consumerCount: Int(ok.pointee.consumer_count)
        )
    }

    /// Binds a queue to an exchange with a routing key. Blocks for one round trip.
    ///
    /// - Throws: `.notFound` if the queue or exchange does not exist (the connection stays usable).
    public func bindQueue(_ queue: String, exchange: String, routingKey: String) throws {
        try ensureOpen()
        withCArena { arena in
            _ = amqp_queue_bind(state, Self.channel, arena.bytes(queue), arena.bytes(exchange), arena.bytes(routingKey), amqp_empty_table)
        }
        try check(amqp_get_rpc_reply(state), while: "binding queue '\(queue)' to exchange '\(exchange)'")
    }

    /// Removes every ready message from a queue (unacknowledged ones stay). Blocks for one round trip.
    ///
    /// - Returns: how many messages were removed.
    @discardableResult
    public func purgeQueue(_ name: String) throws -> Int {
        try ensureOpen()
        let ok = withCArena { arena in amqp_queue_purge(state, Self.channel, arena.bytes(name)) }
        try check(amqp_get_rpc_reply(state), while: "purging queue '\(name)'")
        return ok.map { Int($0.pointee.message_count) } ?? 0
    }

    /// Deletes a queue with its messages, whether or not it is empty or in use. Blocks for one round trip.
    ///
    /// Deleting a queue that does not exist succeeds.
    public func deleteQueue(_ name: String) throws {
        try ensureOpen()
        withCArena { arena in _ = amqp_queue_delete(state, Self.channel, arena.bytes(name), 0, 0) }
        try check(amqp_get_rpc_reply(state), while: "deleting queue '\(name)'")
    }

    /// Deletes an exchange. Blocks for one round trip. Deleting an exchange that does not exist succeeds.
    public func deleteExchange(_ name: String) throws {
        try ensureOpen()
        withCArena { arena in _ = amqp_exchange_delete(state, Self.channel, arena.bytes(name), 0) }
        try check(amqp_get_rpc_reply(state), while: "deleting exchange '\(name)'")
    }
}
