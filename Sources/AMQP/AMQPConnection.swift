import CRabbitMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One AMQP 0-9-1 connection to RabbitMQ with one channel (channel 1), over librabbitmq-c.
///
/// It owns a C connection, so it is not `Sendable`: create it, use it and drop it on one thread.
/// Every method blocks the calling thread (network round trips, waits for frames), so call it from a
/// dedicated thread, never from a Swift concurrency task. Heartbeats are serviced only inside calls:
/// a consumer should call ``nextDelivery(timeout:)`` with a timeout of a second or two in a loop, and
/// wrap long work that does not use the connection in ``keepingAlive(_:)``.
///
/// A channel-level error from the server (404, 406, 403…) closes the channel; the connection answers
/// it, reopens channel 1 (restoring prefetch and confirm mode, but not consumers) and throws, so the
/// connection stays usable. A connection-level error or a socket failure makes every later call throw
/// ``AMQPError/Kind/connectionClosed``.
public final class AMQPConnection {
    /// The server this connection talks to.
    public let endpoint: AMQPEndpoint

    /// The one channel this wrapper uses.
    static let channel: amqp_channel_t = 1
    /// How long a synchronous RPC (declare, bind, consume…) may take before the connection is given up.
    static let rpcTimeout: Duration = .seconds(10)

    let state: amqp_connection_state_t
    /// Set once the connection is unusable; later calls throw it (as `.connectionClosed`).
    var closedError: AMQPError?
    /// True once `amqp_destroy_connection` ran.
    var destroyed = false
    /// The prefetch to restore when the channel is reopened.
    var prefetch: UInt16?
    /// Non-nil once confirm mode is on.
    var confirms: ConfirmTracker?
    /// Deliveries read while waiting for something else (confirms), handed out by `nextDelivery` first.
    var pendingDeliveries: [AMQPDelivery] = []
    var pendingHead = 0
    /// Consumer tag → queue, to name the queue when the server cancels a consumer.
    var consumers: [String: String] = [:]
    /// Set while the broker has blocked this connection's publishes (`connection.blocked`: a memory
    /// or disk alarm), with its reason; a confirm wait that runs out says so.
    var blockedReason: String?
    /// Sends heartbeats while the owner thread is busy elsewhere (see ``keepingAlive(_:)``).
    var heartbeatKeeper: HeartbeatKeeper?

    /// Connects over TCP, logs in with PLAIN and opens channel 1.
    ///
    /// Blocks for up to `connectTimeout` in all to open the socket and complete the AMQP handshake and login;
    /// after that, RPCs (declare, bind, consume…) time out after 10 seconds.
    /// - Parameters:
    ///   - heartbeatSeconds: heartbeat interval to negotiate; 0 disables heartbeats.
    ///   - connectionName: shown in the management UI (`connection_name` client property).
    /// - Throws: ``AMQPError`` `.connect` (with the socket error) when the server cannot be reached,
    ///   `.login` when the server refuses the login or vhost, `.timeout` when the handshake stalls.
    public init(
        endpoint: AMQPEndpoint,
        connectTimeout: Duration = .seconds(5),
        heartbeatSeconds: Int = 30,
        connectionName: String? = nil
    ) throws {
        self.endpoint = endpoint
        self.state = try Self.openLoggedIn(
            endpoint: endpoint,
            connectTimeout: connectTimeout,
            heartbeatSeconds: heartbeatSeconds,
            connectionName: connectionName
        )
        // From here on deinit runs and destroys `state` if opening the channel throws.
        amqp_channel_open(state, Self.channel)
        try check(amqp_get_rpc_reply(state), while: "opening channel \(Self.channel)")
        Self.bound(socket: amqp_get_sockfd(state))
    }

    /// A broker that stops answering (a partition, a dead host) is noticed within about 30 s even
    /// while this side only sends: data unacknowledged for 30 s ends the connection
    /// (`TCP_USER_TIMEOUT`), and an idle one is probed after 10 s, every 5 s, 3 times.
    private static func bound(socket descriptor: Int32) {
        #if os(Linux)
        guard descriptor >= 0 else { return }
        func set(_ level: Int32, _ option: Int32, _ value: Int32) {
            var value = value
            _ = setsockopt(descriptor, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
        }
        set(SOL_SOCKET, SO_KEEPALIVE, 1)
        set(Int32(IPPROTO_TCP), TCP_KEEPIDLE, 10)
        set(Int32(IPPROTO_TCP), TCP_KEEPINTVL, 5)
        set(Int32(IPPROTO_TCP), TCP_KEEPCNT, 3)
        set(Int32(IPPROTO_TCP), TCP_USER_TIMEOUT, 30_000)
        #endif
    }

    deinit {
        close()
    }

    /// Closes the channel and the connection politely, then frees the C connection.
    ///
    /// Best effort and idempotent: never throws; waits at most about two seconds per step for a
    /// broker that no longer answers. Later calls throw ``AMQPError/Kind/connectionClosed``.
    public func close() {
        guard !destroyed else { return }
        destroyed = true
        heartbeatKeeper?.retire()
        if closedError == nil {
            closedError = AMQPError(kind: .connectionClosed, message: "the connection to RabbitMQ at \(endpoint) was closed by this client")
            var shortTimeout = timeval(Duration.seconds(2))
            amqp_set_rpc_timeout(state, &shortTimeout)
            amqp_channel_close(state, Self.channel, AMQP_REPLY_SUCCESS)
            amqp_connection_close(state, AMQP_REPLY_SUCCESS)
        }
        amqp_destroy_connection(state)
    }

    /// What the broker said about itself when the connection opened (`product`, `version`, `platform`…).
    ///
    /// Read from the handshake librabbitmq keeps; no round trip. Empty once the connection is closed.
    public var serverProperties: [String: AMQPFieldValue] {
        guard !destroyed, let table = amqp_get_server_properties(state) else { return [:] }
        return table.pointee.fields
    }

    /// Throws if the connection can no longer be used.
    func ensureOpen() throws {
        if let closedError {
            throw AMQPError(kind: .connectionClosed, message: closedError.message, replyCode: closedError.replyCode)
        }
    }

    // MARK: Opening

    private static func openLoggedIn(
        endpoint: AMQPEndpoint,
        connectTimeout: Duration,
        heartbeatSeconds: Int,
        connectionName: String?
    ) throws -> amqp_connection_state_t {
        guard let state = amqp_new_connection() else {
            throw AMQPError(kind: .connect, message: "cannot reach RabbitMQ at \(endpoint): out of memory creating the connection")
        }
        guard let socket = amqp_tcp_socket_new(state) else {
            amqp_destroy_connection(state)
            throw AMQPError(kind: .connect, message: "cannot reach RabbitMQ at \(endpoint): out of memory creating the socket")
        }
        let deadline = ContinuousClock.now + connectTimeout
        let timeoutMilliseconds = max(1, Int32(clamping: connectTimeout.milliseconds))
        var errorCode: Int32 = 0
        let fd = racelab_tcp_connect(endpoint.host, Int32(clamping: endpoint.port), timeoutMilliseconds, &errorCode)
        guard fd >= 0 else {
            amqp_destroy_connection(state)
            let reason: String
            if fd == -2 {
                reason = "host name lookup failed (\(String(cString: gai_strerror(errorCode))))"
            } else if errorCode == ETIMEDOUT {
                reason = "no answer within \(connectTimeout)"
            } else {
                reason = String(cString: strerror(errorCode)).lowercased()
            }
            throw AMQPError(kind: .connect, message: "cannot reach RabbitMQ at \(endpoint): \(reason)")
        }
        amqp_tcp_socket_set_sockfd(socket, fd)  // the connection owns the fd from here on

        // The handshake gets what is left of the connect timeout (at least a little, for a slow accept).
        var handshakeTimeout = timeval(max(deadline - .now, .milliseconds(100)))
        amqp_set_handshake_timeout(state, &handshakeTimeout)
        var rpcTimeout = timeval(Self.rpcTimeout)
        amqp_set_rpc_timeout(state, &rpcTimeout)

        let reply = withCArena { arena in
            let vhost = arena.cString(endpoint.vhost)
            let user = arena.cString(endpoint.user)
            let password = arena.cString(endpoint.password)
            let heartbeat = Int32(clamping: heartbeatSeconds)
            let frameMax = Int32(AMQP_DEFAULT_FRAME_SIZE)
            var properties = arena.clientProperties(connectionName: connectionName)
            return racelab_amqp_login_plain_with_properties(state, vhost, 0, frameMax, heartbeat, &properties, user, password)
        }
        if reply.reply_type != AMQP_RESPONSE_NORMAL {
            // No connection.start ever came (its server properties are what librabbitmq keeps from it):
            // whatever answers on that port does not speak AMQP.
            let greeted = (amqp_get_server_properties(state)?.pointee.num_entries ?? 0) > 0
            let error =
                !greeted && reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error != AMQP_STATUS_TIMEOUT.rawValue
                ? AMQPError(kind: .connect, message: "\(endpoint) answered, but is not a RabbitMQ server: it does not speak AMQP 0-9-1 (wrong port?)")
                : loginError(reply, endpoint: endpoint, connectTimeout: connectTimeout)
            if reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION, reply.reply.id == RACELAB_CONNECTION_CLOSE_METHOD {
                var closeOk = amqp_connection_close_ok_t(dummy: 0)
                amqp_send_method(state, 0, RACELAB_CONNECTION_CLOSE_OK_METHOD, &closeOk)
            }
            amqp_destroy_connection(state)
            throw error
        }
        return state
    }

    private static func loginError(_ reply: amqp_rpc_reply_t, endpoint: AMQPEndpoint, connectTimeout: Duration) -> AMQPError {
        let refused = "RabbitMQ at \(endpoint) refused login for user '\(endpoint.user)'"
        switch reply.reply_type {
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == RACELAB_CONNECTION_CLOSE_METHOD,
                let close = reply.reply.decoded?.assumingMemoryBound(to: amqp_connection_close_t.self)
            {
                let code = close.pointee.reply_code
                let text = close.pointee.reply_text.string
                return AMQPError(kind: .login, message: "\(refused) on vhost '\(endpoint.vhost)': \(code) \(text)", replyCode: code)
            }
            return AMQPError(kind: .login, message: "\(refused): unexpected server reply during the handshake")
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let status = reply.library_error
            if status == AMQP_STATUS_TIMEOUT.rawValue {
                return AMQPError(kind: .timeout, message: "RabbitMQ at \(endpoint) did not complete the AMQP handshake within \(connectTimeout)")
            }
            if status == AMQP_STATUS_CONNECTION_CLOSED.rawValue || status == AMQP_STATUS_SOCKET_CLOSED.rawValue {
                return AMQPError(
                    kind: .login,
                    message: "\(refused): the server closed the connection during the handshake (bad credentials or vhost '\(endpoint.vhost)'?)"
                )
            }
            let text = String(cString: amqp_error_string2(status))
            return AMQPError(
                kind: .login,
                message: "cannot log in to RabbitMQ at \(endpoint) as user '\(endpoint.user)': \(text) (is it a RabbitMQ server?)"
            )
        default:
            return AMQPError(kind: .login, message: "\(refused): no reply from the server")
        }
    }
}

@available(*, unavailable, message: "AMQPConnection owns a C connection and must stay on one thread")
extension AMQPConnection: Sendable {}
