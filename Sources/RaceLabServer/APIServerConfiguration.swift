/// Where the HTTP front door listens, which servers stand behind it, who may drive it and how much it holds.
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
    /// Purchases remembered for `GET /purchases/{id}` and replays; older ones answer `404`.
    public var ledgerCapacity: Int
    /// How long a published purchase may wait for its outcome before it reads `unknown` (`expired`).
    public var pendingDeadline: Duration
    /// Open `GET /events` streams; one more is refused with `503`.
    public var maxEventSubscribers: Int
    /// How long a connection may sit idle between requests before the server closes it.
    public var idleTimeout: Duration

    public init(
        postgresURL: String,
        amqpURL: String,
        host: String = "127.0.0.1",
        port: Int = 8080,
        token: String? = nil,
        databaseThreads: Int = 2,
        ledgerCapacity: Int = 100_000,
        pendingDeadline: Duration = .seconds(600),
        maxEventSubscribers: Int = 32,
        idleTimeout: Duration = .seconds(60)
    ) {
        self.postgresURL = postgresURL
        self.amqpURL = amqpURL
        self.host = host
        self.port = port
        self.token = token
        self.databaseThreads = databaseThreads
        self.ledgerCapacity = ledgerCapacity
        self.pendingDeadline = pendingDeadline
        self.maxEventSubscribers = maxEventSubscribers
        self.idleTimeout = idleTimeout
    }

    /// `http://host:port`, where the server answers when it listens on `port` (an IPv6 address in brackets).
    public func baseURL(port: Int) -> String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
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
