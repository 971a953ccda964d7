import RaceLabCore

/// How a worker process connects and how many consumer threads it runs.
public struct WorkerConfiguration: Sendable {
    public var postgresURL: String
    public var amqpURL: String
    /// Consumer threads; each has its own AMQP and PostgreSQL connection.
    public var consumers: Int
    /// Unacknowledged deliveries each consumer may hold (basic.qos).
    public var prefetch: UInt16
    /// Settled requests a consumer may hold before it publishes their outcomes and acks them in one go
    /// (it sends sooner whenever no further request is ready).
    public var batchSize: Int
    /// Names this worker in outcomes and logs; defaults to `host:pid`.
    public var name: String
    /// How long a consumer holds a gated request waiting for its run's gate before serving it anyway
    /// (a harness that died must not strand requests).
    public var gateTimeoutSeconds: Double
    public var retryPolicy: PurchaseExecutor.RetryPolicy

    public init(
        postgresURL: String,
        amqpURL: String,
        consumers: Int = 4,
        prefetch: UInt16 = 64,
        batchSize: Int = 16,
        name: String,
        gateTimeoutSeconds: Double = 120,
        retryPolicy: PurchaseExecutor.RetryPolicy = .init()
    ) {
        self.postgresURL = postgresURL
        self.amqpURL = amqpURL
        self.consumers = consumers
        self.prefetch = prefetch
        self.batchSize = max(1, batchSize)
        self.name = name
        self.gateTimeoutSeconds = gateTimeoutSeconds
        self.retryPolicy = retryPolicy
    }
}
