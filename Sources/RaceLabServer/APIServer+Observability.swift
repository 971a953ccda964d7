import Hummingbird
import OpenAPIKit30

/// `GET /events` (Server-Sent Events, at most `maxEventSubscribers` at once) and `GET /metrics` (Prometheus).
extension APIServer {
    func addObservabilityRoutes(to routes: DocumentedRouter) {
        routes.get("/events", Self.eventsOperation) { _, _ in
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
        routes.get("/metrics", Self.metricsOperation) { _, _ in
            let depth = try? await self.broker.queueDepth()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: self.ledger.snapshot().exposition(queueDepth: depth)))
            )
        }
    }

    static let eventsOperation = OpenAPI.Operation(
        summary: "Live Server-Sent Events",
        description: "event: outcome, data: the worker's outcome message (JSON), for every purchase this server accepted; event: stock, "
            + "data: {itemId, stock} after a purchase or a reset; a comment line every 15 s. At most a bounded number of streams are open at once.",
        responses: [
            200: .response(
                OpenAPI.Response(
                    description: "An endless event stream",
                    content: [
                        .eventStream: OpenAPI.Content(
                            schema: .object(
                                description: "One event",
                                properties: [
                                    "event": .string(allowedValues: "outcome", "stock"),
                                    "data": .string(description: "JSON: the outcome message, or {itemId, stock}"),
                                ]
                            )
                        )
                    ]
                )
            ),
            503: .problem,
        ]
    )

    static let metricsOperation = OpenAPI.Operation(
        summary: "Prometheus metrics",
        description: "racelab_purchases_total{strategy,outcome}, racelab_purchase_latency_seconds (histogram, publish to commit), "
            + "racelab_purchases_accepted_total, racelab_purchases_forwarded_total (harness runs' purchases), "
            + "racelab_purchases_unavailable_total, racelab_purchases_pending, racelab_purchases_unknown, racelab_queue_depth, racelab_broker_up.",
        responses: [200: APIDoc.text("Prometheus text format 0.0.4", .txt)]
    )
}
