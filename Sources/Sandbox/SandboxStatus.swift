/// What runs under a sandbox home, as `Sandbox.status(probes:)` found it.
public struct SandboxStatus: Sendable, Equatable, Codable {
    /// One server: whether it answers its probe now, and its URL if it ever ran under this home.
    public struct Server: Sendable, Equatable, Codable {
        public var isRunning: Bool
        public var url: String?

        public init(isRunning: Bool, url: String?) {
            self.isRunning = isRunning
            self.url = url
        }
    }

    public var postgres: Server
    public var rabbitmq: Server

    public init(postgres: Server, rabbitmq: Server) {
        self.postgres = postgres
        self.rabbitmq = rabbitmq
    }
}
