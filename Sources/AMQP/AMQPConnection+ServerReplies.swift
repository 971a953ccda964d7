import CRabbitMQ

/// Turning librabbitmq replies and unsolicited frames into state changes and ``AMQPError``s.
extension AMQPConnection {
    /// Checks the reply of the synchronous RPC just made; `operation` completes "… while <operation>".
    ///
    /// On a channel close from the server this answers it and reopens the channel before throwing; on a
    /// connection close or socket failure it marks the connection closed.
    func check(_ reply: amqp_rpc_reply_t, while operation: @autoclosure () -> String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw libraryFailure(reply.library_error, while: operation())
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            throw serverClosed(reply.reply, while: operation())
        default:
            throw markClosed(AMQPError(kind: .protocolError, message: "RabbitMQ at \(endpoint) sent no reply while \(operation())"))
        }
    }

    /// Checks the status of a non-RPC call (publish, ack…); any failure there is a socket failure.
    func check(status: Int32, while operation: @autoclosure () -> String) throws {
        guard status != AMQP_STATUS_OK.rawValue else { return }
        throw libraryFailure(status, while: operation())
    }

    /// The error for a librabbitmq status; socket-level failures and RPC timeouts end the connection.
    func libraryFailure(_ status: Int32, while operation: String) -> AMQPError {
        let text = String(cString: amqp_error_string2(status))
        switch status {
        case AMQP_STATUS_TIMEOUT.rawValue:
            // An RPC that timed out leaves the protocol state unknown: the connection cannot be reused.
            return markClosed(
                AMQPError(kind: .timeout, message: "RabbitMQ at \(endpoint) did not answer within \(Self.rpcTimeout) while \(operation)")
            )
        case AMQP_STATUS_TABLE_TOO_BIG.rawValue, AMQP_STATUS_INVALID_PARAMETER.rawValue:
            return AMQPError(kind: .protocolError, message: "cannot send to RabbitMQ at \(endpoint) while \(operation): \(text)")
        default:
            return markClosed(
                AMQPError(kind: .connectionClosed, message: "lost the connection to RabbitMQ at \(endpoint) while \(operation): \(text)")
            )
        }
    }

    /// Records that the connection is unusable and returns `error` for throwing.
    @discardableResult
    func markClosed(_ error: AMQPError) -> AMQPError {
        if closedError == nil {
            closedError = error
        }
        return error
    }

    /// Handles a `channel.close` or `connection.close` from the server and returns the error to throw.
    ///
    /// A channel close is answered with `close-ok` and channel 1 is reopened, so the connection stays usable.
    func serverClosed(_ method: amqp_method_t, while operation: String?) -> AMQPError {
        let context = operation.map { " while \($0)" } ?? ""
        if method.id == RACELAB_CHANNEL_CLOSE_METHOD, let decoded = method.decoded {
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            let code = close.reply_code
            let lost = unconfirmedCount > 0 ? " (\(unconfirmedCount) unconfirmed publish(es) lost with it)" : ""
            let error = AMQPError(
                kind: Self.kind(forReplyCode: code, default: .channelClosed),
                message: "RabbitMQ at \(endpoint) closed the channel\(context): \(code) \(close.reply_text.string)\(lost)",
                replyCode: code
            )
            var closeOk = amqp_channel_close_ok_t(dummy: 0)
            let status = amqp_send_method(state, Self.channel, RACELAB_CHANNEL_CLOSE_OK_METHOD, &closeOk)
            if status != AMQP_STATUS_OK.rawValue {
                markClosed(libraryFailure(status, while: "acknowledging a channel close"))
            } else {
                reopenChannel()
            }
            return error
        }
        if method.id == RACELAB_CONNECTION_CLOSE_METHOD, let decoded = method.decoded {
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            let code = close.reply_code
            var closeOk = amqp_connection_close_ok_t(dummy: 0)
            amqp_send_method(state, 0, RACELAB_CONNECTION_CLOSE_OK_METHOD, &closeOk)
            return markClosed(
                AMQPError(
                    kind: Self.kind(forReplyCode: code, default: .connectionClosed),
                    message: "RabbitMQ at \(endpoint) closed the connection\(context): \(code) \(close.reply_text.string)",
                    replyCode: code
                )
            )
        }
        return markClosed(
            AMQPError(kind: .protocolError, message: "RabbitMQ at \(endpoint) sent an unexpected method 0x\(String(method.id, radix: 16))\(context)")
        )
    }

    private static func kind(forReplyCode code: UInt16, default fallback: AMQPError.Kind) -> AMQPError.Kind {
        switch Int32(code) {
        case AMQP_NOT_FOUND: .notFound
        case AMQP_PRECONDITION_FAILED: .preconditionFailed
        case AMQP_ACCESS_REFUSED: .accessRefused
        default: fallback
        }
    }

    /// Reopens channel 1 after the server closed it, restoring prefetch and confirm mode.
    ///
    /// Frames and deliveries still queued from the closed channel are dropped: their delivery tags are
    /// void (the broker requeues those messages) and their confirms refer to the old numbering.
    /// Consumers are gone with the old channel. On failure the connection is marked closed.
    private func reopenChannel() {
        while amqp_frames_enqueued(state) != 0 {
            var frame = amqp_frame_t()
            if amqp_simple_wait_frame(state, &frame) != AMQP_STATUS_OK.rawValue { break }
        }
        pendingDeliveries = []
        pendingHead = 0
        consumers = [:]
        confirms?.restartAfterChannelLoss()
        do {
            amqp_channel_open(state, Self.channel)
            try check(amqp_get_rpc_reply(state), while: "reopening channel \(Self.channel)")
            if let prefetch {
                amqp_basic_qos(state, Self.channel, 0, prefetch, 0)
                try check(amqp_get_rpc_reply(state), while: "restoring prefetch \(prefetch)")
            }
            if confirms != nil {
                amqp_confirm_select(state, Self.channel)
                try check(amqp_get_rpc_reply(state), while: "restoring confirm mode")
            }
        } catch {
            markClosed(
                AMQPError(
                    kind: .connectionClosed,
                    message: "cannot reopen the channel to RabbitMQ at \(endpoint): \(error)",
                    replyCode: (error as? AMQPError)?.replyCode
                )
            )
        }
    }

    /// Handles a frame that arrived while waiting for something else: confirms, deliveries (buffered),
    /// closes and consumer cancellations (thrown).
    func handle(_ frame: amqp_frame_t) throws {
        guard frame.frame_type == AMQP_FRAME_METHOD, frame.channel == Self.channel || frame.channel == 0 else { return }
        let method = frame.payload.method
        guard let decoded = method.decoded else { return }
        switch method.id {
        case RACELAB_BASIC_ACK_METHOD:
            let ack = decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            confirms?.settle(ack.delivery_tag, multiple: ack.multiple != 0, nacked: false)
        case RACELAB_BASIC_NACK_METHOD:
            let nack = decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            confirms?.settle(nack.delivery_tag, multiple: nack.multiple != 0, nacked: true)
        case RACELAB_BASIC_DELIVER_METHOD:
            let deliver = decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            let consumerTag = deliver.consumer_tag.string
            let exchange = deliver.exchange.string
            let routingKey = deliver.routing_key.string
            var message = amqp_message_t()
            let reply = amqp_read_message(state, Self.channel, &message, 0)
            try check(reply, while: "reading a delivery")
            defer { amqp_destroy_message(&message) }
            pendingDeliveries.append(
                AMQPDelivery(
                    deliveryTag: deliver.delivery_tag,
                    consumerTag: consumerTag,
                    exchange: exchange,
                    routingKey: routingKey,
                    redelivered: deliver.redelivered != 0,
                    body: message.body.array,
                    properties: AMQPMessageProperties(message.properties)
                )
            )
        case RACELAB_BASIC_RETURN_METHOD:
            // Only mandatory publishes are returned, and this wrapper never sets mandatory: drop it.
            var message = amqp_message_t()
            try check(amqp_read_message(state, Self.channel, &message, 0), while: "reading a returned message")
            amqp_destroy_message(&message)
        case RACELAB_BASIC_CANCEL_METHOD:
            let cancel = decoded.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            let tag = cancel.consumer_tag.string
            let queue = consumers.removeValue(forKey: tag).map { "queue '\($0)'" } ?? "its queue"
            throw AMQPError(
                kind: .channelClosed,
                message: "RabbitMQ at \(endpoint) cancelled consumer '\(tag)' on \(queue) (queue deleted or its leader moved)"
            )
        case RACELAB_CHANNEL_CLOSE_METHOD, RACELAB_CONNECTION_CLOSE_METHOD:
            throw serverClosed(method, while: nil)
        case RACELAB_CONNECTION_BLOCKED_METHOD:
            let reason = decoded.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee.reason.string
            blockedReason = reason.isEmpty ? "a resource alarm" : reason
        case RACELAB_CONNECTION_UNBLOCKED_METHOD:
            blockedReason = nil
        default:
            // Anything else informational.
            return
        }
    }

    /// Reads and handles frames until `deadline`, or until `done()` is true.
    ///
    /// - Returns: false when the deadline passed first.
    func pumpFrames(until deadline: ContinuousClock.Instant, operation: String, done: () -> Bool) throws -> Bool {
        while !done() {
            releaseBuffersIfIdle()
            var timeout = timeval(deadline - .now)
            var frame = amqp_frame_t()
            let status = amqp_simple_wait_frame_noblock(state, &frame, &timeout)
            if status == AMQP_STATUS_TIMEOUT.rawValue {
                return false
            }
            try check(status: status, while: operation)
            try handle(frame)
        }
        return true
    }

    /// Frees librabbitmq's frame memory when no queued frame still points into it.
    func releaseBuffersIfIdle() {
        if amqp_frames_enqueued(state) == 0 {
            amqp_maybe_release_buffers(state)
        }
    }

    /// The next buffered delivery, if any.
    func popPendingDelivery() -> AMQPDelivery? {
        guard pendingHead < pendingDeliveries.count else { return nil }
        let delivery = pendingDeliveries[pendingHead]
        pendingHead += 1
        if pendingHead == pendingDeliveries.count {
            pendingDeliveries.removeAll(keepingCapacity: true)
            pendingHead = 0
        }
        return delivery
    }
}
