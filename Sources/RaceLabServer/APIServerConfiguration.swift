/// Where the HTTP front door listens and which servers stand behind it.
public struct APIServerConfiguration: Sendable {
    public var postgresURL: String
    public var amqpURL: String
    public var host: String
    public var port: Int
    /// PostgreSQL sessions serving item reads and resets.
    public var databaseThreads: Int
    /// Purchases remembered for `GET /purchases/{id}`; older ones answer `404`.
    public var ledgerCapacity: Int

    public init(
        postgresURL: String,
        amqpURL: String,
        host: String = "127.0.0.1",
        port: Int = 8080,
        databaseThreads: Int = 2,
        ledgerCapacity: Int = 100_000
    ) {
        self.postgresURL = postgresURL
        self.amqpURL = amqpURL
        self.host = host
        self.port = port
        self.databaseThreads = databaseThreads
        self.ledgerCapacity = ledgerCapacity
    }
}
