/// Where the HTTP front door listens, which servers stand behind it and who may drive it.
public struct APIServerConfiguration: Sendable {
    public var postgresURL: String
    public var amqpURL: String
    public var host: String
    public var port: Int
    /// The bearer token state-changing requests must carry, and the key to the harness-only fields; nil: none.
    /// Required when ``host`` is not a loopback address.
    public var token: String?
    /// PostgreSQL sessions serving item reads and resets.
    public var databaseThreads: Int
    /// Purchases remembered for `GET /purchases/{id}`; older ones answer `404`.
    public var ledgerCapacity: Int

    public init(
        postgresURL: String,
        amqpURL: String,
        host: String = "127.0.0.1",
        port: Int = 8080,
        token: String? = nil,
        databaseThreads: Int = 2,
        ledgerCapacity: Int = 100_000
    ) {
        self.postgresURL = postgresURL
        self.amqpURL = amqpURL
        self.host = host
        self.port = port
        self.token = token
        self.databaseThreads = databaseThreads
        self.ledgerCapacity = ledgerCapacity
    }

    /// Why the server must not start with this configuration, in one line; nil when it may.
    public var problem: String? {
        if let token, let problem = AccessPolicy.problem(withToken: token) { return problem }
        if token == nil && !AccessPolicy.isLoopback(host) {
            return "--host \(host) listens beyond loopback: set an API token (--token or RACELAB_API_TOKEN)"
        }
        return nil
    }
}

/// A configuration the server refuses to start with (``APIServerConfiguration/problem``).
public struct APIServerConfigurationError: Error, CustomStringConvertible {
    public var description: String
}
