import Hummingbird

/// `GET /events` (Server-Sent Events, at most `maxEventSubscribers` at once) and `GET /metrics` (Prometheus).
extension APIServer {
    func addObservabilityRoutes(to router: Router<BasicRequestContext>) {
        router.get("/events") { _, _ in
            guard let events = self.ledger.subscribe() else {
                throw ProblemDetails.unavailable("\(self.ledger.maxSubscribers) event streams are open already; close one or retry")
            }
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: ": racelab events; run \(self.runId)\n\n"))
                for await event in events {
                    try await writer.write(ByteBuffer(string: event.wireFormat))
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: body
            )
        }
        router.get("/metrics") { _, _ in
            let depth = try? await self.broker.queueDepth()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.ledger.snapshot().exposition(queueDepth: depth)))
            )
        }
    }
}
