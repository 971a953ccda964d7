import ServiceLifecycle

/// A service that waits for graceful shutdown and then stops the ``APIServer``'s feeds and threads, so
/// open `GET /events` streams end and the HTTP server can finish.
struct ShutdownHook: Service {
    let server: APIServer

    func run() async throws {
        try? await gracefulShutdown()
        server.stop()
    }
}
