/// Readiness probes: real client checks the caller supplies (a libpq connection and a query, an AMQP
/// login), so the sandbox itself needs no client libraries.
///
/// Each probe is called with a server URL, must return within a few seconds, and throws if the server
/// does not answer yet. The sandbox calls them repeatedly until they succeed or a deadline passes.
public struct SandboxProbes: Sendable {
    /// Throws unless PostgreSQL at the URL accepts a connection and a query.
    public var postgres: @Sendable (_ url: String) throws -> Void
    /// Throws unless RabbitMQ at the URL accepts a login.
    public var amqp: @Sendable (_ url: String) throws -> Void

    public init(postgres: @escaping @Sendable (String) throws -> Void, amqp: @escaping @Sendable (String) throws -> Void) {
        self.postgres = postgres
        self.amqp = amqp
    }
}
