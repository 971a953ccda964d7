import CRabbitMQ

/// Publishing and publisher confirms.
///
/// With confirms on, every publish gets a sequence number 1, 2, 3… and the broker later acks or nacks it;
/// ``pollConfirms()`` and ``waitForConfirms(timeout:)`` read those answers. librabbitmq 0.11 has no helper
/// for this, so the connection tracks them itself.
extension AMQPConnection {
    /// Every this many confirmed publishes, `publish` reads the confirms already waiting, so a long
    /// publish loop never lets the socket's receive buffer fill up.
    private static let drainInterval: UInt64 = 128

    /// Puts the channel in confirm mode (`confirm.select`). Blocks for one round trip; idempotent.
    public func enableConfirms() throws {
        try ensureOpen()
        guard confirms == nil else { return }
        amqp_confirm_select(state, Self.channel)
        try check(amqp_get_rpc_reply(state), while: "enabling publisher confirms")
        confirms = ConfirmTracker()
    }

    /// Publishes a message (mandatory = false: unroutable messages are dropped by the broker).
    ///
    /// Does not wait for the broker, but blocks while the socket's send buffer is full. With confirms on,
    /// now and then it reads the confirms already waiting (without blocking), and so can throw for a
    /// channel the server closed since the last call.
    /// - Returns: the confirm sequence number with confirms on, else 0.
    @discardableResult
    public func publish(exchange: String = "", routingKey: String, body: [UInt8], properties: AMQPMessageProperties = .init()) throws -> UInt64 {
        try ensureOpen()
        let status = withCArena { arena in
            var cProperties = properties.cProperties(in: arena)
            let exchangeBytes = arena.bytes(exchange)
            let routingKeyBytes = arena.bytes(routingKey)
            return body.withUnsafeBytes { raw in
                let bodyBytes = amqp_bytes_t(len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress))
                return amqp_basic_publish(state, Self.channel, exchangeBytes, routingKeyBytes, 0, 0, &cProperties, bodyBytes)
            }
        }
        try check(status: status, while: "publishing to exchange '\(exchange)' with routing key '\(routingKey)'")
        guard let sequenceNumber = confirms?.nextSequenceNumber() else { return 0 }
        if sequenceNumber % Self.drainInterval == 0 {
            try pollConfirms()
        }
        return sequenceNumber
    }

    /// Publishes not yet acked or nacked by the broker (0 without confirms).
    public var unconfirmedCount: Int { confirms?.unconfirmed ?? 0 }

    /// Reads the confirms (and other frames) already received, without blocking.
    ///
    /// Deliveries read meanwhile are kept for ``nextDelivery(timeout:)``.
    /// - Returns: how many publishes remain unconfirmed.
    /// - Throws: when the server closed the channel or connection since the last call.
    @discardableResult
    public func pollConfirms() throws -> Int {
        try ensureOpen()
        guard confirms != nil else { return 0 }
        var framesLeft = 4096  // bounded: a busy consumer must not keep this call spinning
        _ = try pumpFrames(until: .now, operation: "reading publisher confirms") {
            framesLeft -= 1
            return framesLeft < 0
        }
        return unconfirmedCount
    }

    /// Blocks until the broker has acked or nacked every publish so far.
    ///
    /// Returns at once without confirms. Deliveries read meanwhile are kept for ``nextDelivery(timeout:)``.
    /// - Throws: `.timeout` if confirms are still missing after `timeout` (the connection stays usable);
    ///   `.publishNacked`, saying how many, if the broker nacked any publish since the last report;
    ///   the server's error if it closed the channel (unconfirmed publishes are lost with it: the error says
    ///   how many, and numbering restarts at 1).
    public func waitForConfirms(timeout: Duration) throws {
        try ensureOpen()
        guard confirms != nil else { return }
        let deadline = ContinuousClock.now + timeout
        let finished = try pumpFrames(until: deadline, operation: "waiting for publisher confirms") { unconfirmedCount == 0 }
        guard finished else {
            if let blockedReason {
                throw AMQPError(
                    kind: .timeout,
                    message: "RabbitMQ at \(endpoint) blocked publishing (a resource alarm: \(blockedReason); see the broker's log) "
                        + "and did not confirm \(unconfirmedCount) publish(es) within \(timeout)"
                )
            }
            throw AMQPError(kind: .timeout, message: "RabbitMQ at \(endpoint) did not confirm \(unconfirmedCount) publish(es) within \(timeout)")
        }
        if let nacked = confirms?.unreportedNacks, nacked > 0 {
            confirms?.unreportedNacks = 0
            throw AMQPError(kind: .publishNacked, message: "RabbitMQ at \(endpoint) nacked \(nacked) publish(es): the broker did not take them")
        }
    }
}
