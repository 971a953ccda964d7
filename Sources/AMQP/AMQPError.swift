/// A failure talking to RabbitMQ, with a one-line message written for the person reading it.
///
/// When the server closed the channel or the connection, ``replyCode`` holds its AMQP reply code
/// (404, 406, 403, 320…) and ``message`` quotes its reply text.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, for callers that react to it.
    public enum Kind: Sendable, Equatable {
        /// The `amqp://` URL could not be parsed.
        case invalidURL
        /// The TCP connection could not be opened (refused, unreachable, timed out, unknown host).
        case connect
        /// The server refused the login (credentials, vhost, or the handshake failed).
        case login
        /// The server closed the channel (or cancelled a consumer) for a reason not covered below.
        case channelClosed
        /// The connection is gone: closed by the server, by ``AMQPConnection/close()``, or by a socket error.
        case connectionClosed
        /// The library or the server reported a protocol-level failure.
        case protocolError
        /// The broker nacked one or more confirmed publishes.
        case publishNacked
        /// An operation did not finish in time.
        case timeout
        /// 404 NOT_FOUND: the queue or exchange does not exist.
        case notFound
        /// 406 PRECONDITION_FAILED: e.g. a queue redeclared with different arguments, or an unknown delivery tag.
        case preconditionFailed
        /// 403 ACCESS_REFUSED: the user may not do this, or an exclusive queue belongs to another connection.
        case accessRefused
    }

    /// What went wrong.
    public var kind: Kind
    /// One line for a person: which server, what failed, and the server's reply when there was one.
    public var message: String
    /// The AMQP reply code when the server closed the channel or connection.
    public var replyCode: UInt16?

    /// Creates an error; `message` must be one line.
    public init(kind: Kind, message: String, replyCode: UInt16? = nil) {
        self.kind = kind
        self.message = message
        self.replyCode = replyCode
    }

    /// The ``message``.
    public var description: String { message }
}
