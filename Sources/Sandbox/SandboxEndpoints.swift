/// Where the sandbox servers answer: the URLs to hand to clients (and to print as
/// `RACELAB_POSTGRES_URL` / `RACELAB_AMQP_URL`).
public struct SandboxEndpoints: Sendable, Equatable, Codable {
    /// `postgresql://racelab@127.0.0.1:PORT/racelab`, or "" when PostgreSQL was not asked for and
    /// has never run under this home.
    public var postgresURL: String
    /// `amqp://guest:guest@127.0.0.1:PORT/%2f`, or "" when RabbitMQ was not asked for and has never
    /// run under this home.
    public var amqpURL: String

    public init(postgresURL: String, amqpURL: String) {
        self.postgresURL = postgresURL
        self.amqpURL = amqpURL
    }
}
