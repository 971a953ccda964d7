import AMQP
import Foundation
import Hummingbird
import Logging
import Postgres
import RaceLabCore
import RaceLabPipeline
import ServiceLifecycle
import Synchronization

/// RaceLab's HTTP front door: buyers `POST /purchases`, the server publishes them to `racelab.purchases`
/// with confirms and answers `202`; outcomes come back on `racelab.outcomes` under the server's own run id.
///
/// Blocking C calls never run on Swift concurrency threads: the broker, the outcome consumer and the
/// database each live on dedicated threads (``BrokerGateway``, ``OutcomeListener``, ``DatabaseGateway``)
/// that handlers `await`. Lifecycle: ``start()``, serve the router, ``stop()``, then ``waitUntilStopped()``.
/// Who may drive it is the ``AccessPolicy``'s to say.
public final class APIServer: Sendable {
    public let configuration: APIServerConfiguration
    /// The run id of every purchase this server publishes; its outcomes are routed back by it.
    public let runId = UUID()
    let logger: Logger
    let ledger: PurchaseLedger
    let broker: BrokerGateway
    let database: DatabaseGateway
    let listener: OutcomeListener
    let strategies: StrategyDirectory
    let access: AccessPolicy
    /// Comments on every event stream every so often, so a client that went away is noticed and its slot freed.
    private let keepAlive = Mutex<Task<Void, Never>?>(nil)
    /// The port the HTTP server listens on, once it does (the real one for port 0).
    private let boundPort = Mutex<Int?>(nil)

    /// - Throws: ``APIServerConfigurationError`` for a configuration it must not start with
    ///   (``APIServerConfiguration/problem``); when the AMQP URL cannot be parsed.
    public init(configuration: APIServerConfiguration, logger: Logger) throws {
        if let problem = configuration.problem { throw APIServerConfigurationError(description: problem) }
        self.configuration = configuration
        self.logger = logger
        let endpoint = try AMQPEndpoint(url: configuration.amqpURL)
        access = AccessPolicy(token: configuration.token, host: configuration.host)
        ledger = PurchaseLedger(
            ownRun: runId,
            capacity: configuration.ledgerCapacity,
            pendingDeadline: configuration.pendingDeadline,
            maxSubscribers: configuration.maxEventSubscribers
        )
        broker = BrokerGateway(endpoint: endpoint, logger: logger)
        database = DatabaseGateway(url: configuration.postgresURL, threads: max(1, configuration.databaseThreads), logger: logger)
        listener = OutcomeListener(endpoint: endpoint, runId: runId, ledger: ledger, database: database, logger: logger)
        strategies = StrategyDirectory(database: database)
    }

    /// Starts the threads and checks both servers: creates the tables and topology, binds the outcome queue.
    ///
    /// - Throws: when PostgreSQL or RabbitMQ cannot be reached, with the server's message.
    public func start() async throws {
        database.start()
        broker.start()
        try await database.run { try Schema.ensure(on: $0) }
        try await strategies.refresh(maxAge: 0)
        _ = try await broker.queueDepth()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            listener.start { continuation.resume(with: $0) }
        }
        let ledger = ledger
        keepAlive.withLock { task in
            task = Task {
                while (try? await Task.sleep(for: .seconds(15))) != nil { ledger.broadcast(.keepAlive) }
            }
        }
        logger.info("API server ready", metadata: ["lab.run": "\(runId)"])
    }

    /// Ends the event streams and asks every thread to stop. Returns at once.
    public func stop() {
        keepAlive.withLock { $0?.cancel() }
        ledger.close()
        listener.stop()
        broker.stop()
        database.stop()
    }

    /// Blocks until every thread has closed its connection. Call after ``stop()``, from a thread, not a task.
    public func waitUntilStopped() {
        listener.waitUntilFinished()
        broker.waitUntilFinished()
        database.waitUntilFinished()
    }

    /// The routes, behind ``ProblemMiddleware`` and ``AccessMiddleware``, each registered with its OpenAPI
    /// operation (``DocumentedRouter``); ``MethodNotAllowedMiddleware`` turns a known path's unserved method into `405`.
    public func makeRouter() -> Router<BasicRequestContext> { makeRoutes().router }

    /// ``makeRouter()``'s router with the operations its routes were registered with.
    func makeRoutes() -> DocumentedRouter {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.add(middleware: AccessMiddleware(policy: access))
        let routes = DocumentedRouter(router: router)
        addPurchaseRoutes(to: routes)
        addItemRoutes(to: routes)
        addObservabilityRoutes(to: routes)
        addDocumentationRoutes(to: routes)
        addDashboardRoutes(to: routes)
        router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))  // last: it sees unmatched requests only
        return routes
    }

    /// The port the HTTP server listens on, once ``run(onListening:)`` has bound it; nil before.
    public var listeningPort: Int? { boundPort.withLock { $0 } }

    /// Checks the address, starts, serves on the configured host and port until SIGINT or SIGTERM, then stops
    /// the threads. Open event streams are ended on shutdown.
    ///
    /// `onListening` is called once with the port the server listens on (the real one for port 0).
    /// - Throws: ``ListenFailure`` before anything starts when the server cannot listen there (a port in use,
    ///   an unknown host), and when the HTTP server's bind fails for that reason later; what ``start()`` throws.
    public func run(onListening: @escaping @Sendable (_ port: Int) -> Void = { _ in }) async throws {
        let (host, port) = (configuration.host, configuration.port)
        if let failure = ListenFailure.check(host: host, port: port) { throw failure }
        try await start()
        let app = Application(
            router: makeRouter(),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.idleTimeout / .nanoseconds(1))))),
            configuration: .init(address: .hostname(host, port: port), serverName: "racelab"),
            onServerRunning: { [self] channel in
                let bound = channel.localAddress?.port ?? port
                boundPort.withLock { $0 = bound }
                onListening(bound)
            },
            logger: logger
        )
        // Graceful shutdown runs through the services in reverse order: the hook ends the event streams
        // first, so the HTTP server is not left waiting on them.
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: app), .init(service: ShutdownHook(server: self))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await services.run()
        } catch {
            stop()
            // The port was free at the check but not at the bind (taken meanwhile): say why in words, not NIO's.
            if listeningPort == nil, let failure = ListenFailure.check(host: host, port: port) { throw failure }
            throw error
        }
        stop()
    }
}
