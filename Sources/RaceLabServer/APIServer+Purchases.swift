import Foundation
import Hummingbird
import OpenAPIKit30
import Postgres
import RaceLabCore
import RaceLabPipeline

/// `POST /purchases` and `GET /purchases/{id}`.
extension APIServer {
    /// The longest think time a caller without the API token may ask for; up to `PurchaseRequest.thinkRange`
    /// with it. A buyer holds the item's row lock while it thinks.
    static let openThinkLimit = 1_000

    static let purchaseFields = ["itemId", "buyerId", "quantity", "strategy", "thinkMs", "isolation", "requestId", "runId", "gated"]

    func addPurchaseRoutes(to routes: DocumentedRouter) {
        routes.post("/purchases", Self.submitPurchaseOperation) { request, _ in try await self.submitPurchase(request) }
        routes.get("/purchases/{id}", Self.purchaseStatusOperation) { _, context in try self.purchaseStatus(context.parameters.get("id") ?? "") }
    }

    static let submitPurchaseOperation = OpenAPI.Operation(
        summary: "Submit a purchase",
        description: "Validates the request, publishes it persistent to racelab.purchases and answers once RabbitMQ confirmed it. "
            + "A requestId the server knows makes the request a replay: the same body is answered 202 with where that purchase stands "
            + "now (published again when its status is unknown); a different body is 422.",
        requestBody: APIDoc.body(APIDoc.schema("PurchaseSubmission")),
        responses: APIDoc.bodyResponses([
            202: .response(
                OpenAPI.Response(
                    description: "Accepted: the broker holds the request (or, for a replay, it was taken before); follow Location for the outcome.",
                    headers: ["Location": .header(OpenAPI.Header(schema: .string, description: "/purchases/{id}"))],
                    content: APIDoc.json(APIDoc.schema("PurchaseAccepted"))
                )
            ),
            409: .problem,
            503: .response(
                OpenAPI.Response(
                    description: "RabbitMQ could not take the purchase (nothing published: retry), or did not confirm it: then the problem "
                        + "carries its requestId and Location, its status is unknown, and the same body may be sent again.",
                    headers: [
                        "Location": .header(OpenAPI.Header(schema: .string, description: "/purchases/{id}, when the purchase was kept")),
                        "Retry-After": .header(OpenAPI.Header(schema: .integer)),
                    ],
                    content: APIDoc.problemJSON
                )
            ),
        ])
    )

    static let purchaseStatusOperation = OpenAPI.Operation(
        summary: "A purchase's status",
        parameters: [.parameter(name: "id", context: .path, schema: .string(format: .extended(.uuid)))],
        responses: [
            200: APIDoc.json("The status", APIDoc.schema("PurchaseStatus")),
            400: .problem,
            404: .problem,
        ]
    )

    /// Validates the body, publishes the request with a confirm and answers `202` with its id.
    ///
    /// A request whose `requestId` the server knows is a replay: the same body is answered with where that
    /// purchase stands now (and published again when its fate is unknown), a different one is `422`.
    func submitPurchase(_ request: Request) async throws -> Response {
        let body = try await JSONBody(request, fields: Self.purchaseFields)
        let authorized = access.isAuthorized(request)
        let itemId = try body.integer("itemId") ?? 0
        let buyerId = try body.integer("buyerId") ?? 0
        let quantity = try body.integer("quantity", required: false) ?? 1
        let thinkMs = try body.integer("thinkMs", required: false) ?? 0
        let strategyName = try body.string("strategy") ?? StrategyName.pessimistic.rawValue
        // A harness firing its own run through the API (`racelab run --via http`) names the request, its
        // run and holds it for the run's gate; the outcome then goes to that run, not to this server.
        let requestId = try body.uuid("requestId") ?? UUID()
        let purchaseRunId = try body.uuid("runId") ?? runId
        let gated = try body.boolean("gated") ?? false
        let isolation = try Self.isolation(body)
        let strategy = try await strategies.resolve(strategyName)
        guard let quantity = Int(exactly: quantity), PurchaseRequest.quantityRange.contains(quantity) else {
            throw ProblemDetails.invalid("quantity", "must be in \(PurchaseRequest.quantityRange), got \(quantity)")
        }
        let thinkMsValue = try Self.thinkMs(thinkMs, authorized: authorized)
        for field in ["runId", "gated"] where body.contains(field) && !authorized {
            throw ProblemDetails.needsToken(field, "a harness's own run and gate are")
        }
        let purchase = PurchaseRequest(
            requestId: requestId,
            runId: purchaseRunId,
            itemId: itemId,
            buyerId: buyerId,
            quantity: quantity,
            strategy: strategy.name,
            thinkMs: thinkMsValue,
            publishedAt: WallClock.nanoseconds(),
            gated: gated,
            isolation: isolation,
            strategyVersion: (strategy as? UserStrategy)?.version
        )
        if let problem = purchase.validationProblem {
            let field = problem.dropFirst("field ".count).prefix { $0 != ":" }
            throw ProblemDetails(.unprocessableContent, problem, field: String(field))
        }
        switch ledger.claim(purchase) {
        case .known(let entry):
            return try accepted(entry.request, entry.status)
        case .conflict(let field):
            throw ProblemDetails.invalid(
                "requestId",
                "\(requestId.uuidString.lowercased()) names another purchase (its \(field) differs); send a new requestId for a new purchase"
            )
        case .publishing:
            var problem = ProblemDetails(
                .conflict,
                "a purchase with requestId \(requestId.uuidString.lowercased()) is being published; retry",
                field: "requestId"
            )
            problem.headers[.retryAfter] = "1"
            throw problem
        case .publish(let previous):
            do {
                try await broker.publish(try MessageCodec().encode(purchase), to: Topology.queue(for: purchase, delivery: strategy.traits.delivery))
                ledger.recordConfirmed(purchase.requestId)
            } catch BrokerGateway.PublishFailure.notSent(let reason) {
                ledger.recordNotSent(purchase.requestId, restoring: previous)
                throw ProblemDetails.unavailable("RabbitMQ cannot take the purchase now (\(reason)); nothing was published, retry")
            } catch {
                // Possibly held by the broker: kept as unknown, its id returned, so the client can replay it.
                ledger.recordUnconfirmed(purchase.requestId)
                let id = purchase.requestId.uuidString.lowercased()
                var problem = ProblemDetails.unavailable(
                    "RabbitMQ did not confirm the purchase, so it may or may not be delivered; its status is unknown: "
                        + "POST the same body again (same requestId) to publish it again, or follow Location"
                )
                problem.requestId = purchase.requestId
                problem.headers[.location] = "/purchases/\(id)"
                throw problem
            }
            // A new purchase answers `pending` even when its outcome beat the confirm here; a replay tells it.
            return try accepted(purchase, purchase.runId == runId ? .pending : .forwarded)
        }
    }

    /// `202` with the purchase's id, run and status (`pending`, `forwarded` or, for a replay, its outcome).
    private func accepted(_ purchase: PurchaseRequest, _ status: PurchaseLedger.Status) throws -> Response {
        let id = purchase.requestId.uuidString.lowercased()
        return try jsonResponse(
            ["requestId": id, "status": status.name, "runId": purchase.runId.uuidString.lowercased()],
            status: .accepted,
            headers: [.location: "/purchases/\(id)"]
        )
    }

    /// The purchase's status: `pending` until its outcome arrives, then the outcome and its details;
    /// `unknown` (with `reason`) when it was not confirmed or no outcome came in time; `forwarded` for
    /// another run's.
    func purchaseStatus(_ text: String) throws -> Response {
        guard let id = UUID(uuidString: text) else { throw ProblemDetails.malformed("id", "'\(text.prefix(40))' is not a UUID") }
        guard let entry = ledger.entry(id) else {
            throw ProblemDetails(.notFound, "no purchase \(text) on this server (unknown, or older than the last \(ledger.capacity))", field: "id")
        }
        var document: [String: Any] = [
            "requestId": id.uuidString.lowercased(),
            "itemId": entry.request.itemId,
            "buyerId": entry.request.buyerId,
            "quantity": entry.request.quantity,
            "strategy": entry.request.strategy.rawValue,
            "status": entry.status.name,
        ]
        if let reason = entry.status.unknownReason { document["reason"] = reason }
        if case .settled(let outcome) = entry.status {
            document["retries"] = outcome.retries
            document["worker"] = outcome.worker
            if outcome.finishedAt >= entry.request.publishedAt {
                document["latencyMs"] = Double(outcome.finishedAt - entry.request.publishedAt) / 1e6
            }
            if let error = outcome.error { document["error"] = error }
        }
        return try jsonResponse(document)
    }
}

extension APIServer {
    /// The optional `isolation` field: one of the levels, or a 422 naming them.
    static func isolation(_ body: JSONBody) throws -> IsolationLevel? {
        guard let text = try body.string("isolation") else { return nil }
        guard let level = IsolationLevel(rawValue: text) else {
            throw ProblemDetails.invalid(
                "isolation",
                "unknown isolation level '\(text.prefix(40))' (known: \(IsolationLevel.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        return level
    }

    /// A `thinkMs` value: in `PurchaseRequest.thinkRange` (`422`), and above ``openThinkLimit`` only for a
    /// caller with the token (`403`).
    static func thinkMs(_ value: Int64, authorized: Bool) throws -> Int {
        guard let think = Int(exactly: value), PurchaseRequest.thinkRange.contains(think) else {
            throw ProblemDetails.invalid("thinkMs", "must be in \(PurchaseRequest.thinkRange), got \(value)")
        }
        if think > openThinkLimit && !authorized {
            throw ProblemDetails.needsToken("thinkMs", "more than \(openThinkLimit) ms is allowed")
        }
        return think
    }
}

/// A JSON response from a property-list-like value, keys sorted.
func jsonResponse(_ value: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
    var headers = headers
    headers[.contentType] = "application/json"
    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
