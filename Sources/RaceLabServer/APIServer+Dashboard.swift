import Foundation
import Hummingbird
import OpenAPIKit30
import RaceLabCore
import RaceLabPipeline

/// `GET /` (the live dashboard), `GET /stats`, `POST /stampedes` and `GET /stampedes/last/story`.
extension APIServer {
    /// How many buyers one demo stampede may fire.
    static let stampedeBuyers: ClosedRange<Int64> = 1...10_000
    /// The stock a demo stampede may set: as many units as a strategy keeping one row per unit may hold,
    /// for every strategy (more than 10,000 buyers could ever buy anyway).
    static let stampedeStock: ClosedRange<Int64> = 0...Int64(Schema.maxUnitRows)

    func addDashboardRoutes(to routes: DocumentedRouter) {
        routes.get("/", Self.dashboardOperation) { _, _ in
            // The first numbers are in the page itself, so it shows them as soon as it is parsed (a browser
            // dumping the DOM at load sees them); without the database the page fetches them later.
            let initial = (try? await self.stats()).flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
            let catalog = (try? await self.strategies.refresh()) ?? self.strategies.catalog
            let race = (try? self.lastStampedeStory()).map { ($0.story.lines, $0.svg) }
            let html = DashboardPage.html(
                initialStats: initial.map { String(decoding: $0, as: UTF8.self) } ?? "null",
                strategies: catalog.names,
                tokenRequired: self.access.token != nil,
                race: race
            )
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: html))
            )
        }
        routes.get("/stats", Self.statsOperation) { _, _ in try jsonResponse(try await self.stats()) }
        routes.post("/stampedes", Self.stampedeOperation) { request, _ in try await self.fireStampede(request) }
        routes.get("/stampedes/last/story", Self.storyOperation) { _, _ in
            let told = try self.lastStampedeStory()
            return try jsonResponse([
                "strategy": told.story.strategy.rawValue,
                "attempts": told.story.attempts,
                "lines": told.story.lines,
                "lostUpdates": told.story.lostUpdates,
                "svg": told.svg,
            ])
        }
    }

    static let dashboardOperation = OpenAPI.Operation(
        summary: "The live dashboard",
        description: "Items with live stock, sold against initial stock (an oversell flagged), outcome counters and latency percentiles, "
            + "updated over /events; forms to reset an item and fire a demo stampede. Self-contained HTML.",
        responses: [200: APIDoc.text("HTML", .html)]
    )

    static let statsOperation = OpenAPI.Operation(
        summary: "Outcome counters, latency percentiles and every item",
        description: "Counts the purchases this server accepted, and apart from them the purchases it forwarded for harness runs. "
            + "latencyMs runs from publish to the worker's commit (HdrHistogram); items are at most 1000, by id.",
        responses: [
            200: APIDoc.json("The numbers the dashboard shows", APIDoc.schema("Stats")),
            503: .problem,
        ]
    )

    static let storyOperation = OpenAPI.Operation(
        summary: "How the last demo stampede raced",
        description: "Told from the attempts the workers traced (a demo stampede's purchases ask for a trace): the first lost update step "
            + "by step, the lock queue, the conflicts (racelab explain's story), and the swimlane timeline as SVG. 404 before the first "
            + "stampede; 409 while some of its purchases have no outcome yet.",
        responses: [
            200: APIDoc.json(
                "The story",
                .object(
                    properties: [
                        "strategy": APIDoc.schema("Strategy"),
                        "attempts": .integer(minimum: (0, exclusive: false)),
                        "lines": .array(items: .string),
                        "lostUpdates": .integer(minimum: (0, exclusive: false)),
                        "svg": .string(description: "a self-contained SVG timeline, one lane per database session"),
                    ]
                )
            ),
            404: .problem,
            409: .problem,
        ]
    )

    static let stampedeOperation = OpenAPI.Operation(
        summary: "Fire a demo stampede",
        description: "Resets the item to the given stock (deleting its orders), then publishes one purchase per buyer (buyers 1...n) with "
            + "publisher confirms, server side. Outcomes arrive on /events and count in /stats. One at a time: while the last stampede's "
            + "purchases are neither settled nor past the pending deadline, 409.",
        requestBody: APIDoc.body(
            .object(
                properties: [
                    "strategy": APIDoc.schema("Strategy"),
                    "buyers": .integer(
                        maximum: (Int(stampedeBuyers.upperBound), exclusive: false),
                        minimum: (Int(stampedeBuyers.lowerBound), exclusive: false)
                    ),
                    "stock": .integer(
                        maximum: (Int(stampedeStock.upperBound), exclusive: false),
                        minimum: (Int(stampedeStock.lowerBound), exclusive: false)
                    ),
                    "itemId": .integer(format: .int64, required: false, minimum: (1, exclusive: false), defaultValue: 1),
                    "thinkMs": .integer(
                        required: false,
                        description: "above \(openThinkLimit) only with the API token (403)",
                        maximum: (PurchaseRequest.thinkRange.upperBound, exclusive: false),
                        minimum: (PurchaseRequest.thinkRange.lowerBound, exclusive: false),
                        defaultValue: 0
                    ),
                    "isolation": APIDoc.schema("Isolation", required: false),
                ],
                additionalProperties: .a(false)
            )
        ),
        responses: APIDoc.bodyResponses([
            202: APIDoc.json(
                "Every purchase was confirmed by RabbitMQ",
                .object(
                    properties: [
                        "requestIds": .array(items: .string(format: .extended(.uuid))),
                        "count": .integer,
                        "itemId": .integer(format: .int64),
                        "strategy": APIDoc.schema("Strategy"),
                        "runId": .string(format: .extended(.uuid)),
                    ]
                )
            ),
            409: .problem,
            503: .problem,
        ])
    )

    /// How the last demo stampede raced, told from its traced attempts (`racelab explain`'s story and
    /// timeline): `404` before the first, `409` while some of its purchases have no outcome yet.
    func lastStampedeStory() throws -> (story: RaceStory, svg: String) {
        guard let record = ledger.lastStampede(), let first = record.requests.first else {
            throw ProblemDetails(.notFound, "no demo stampede yet: fire one (POST /stampedes)")
        }
        guard record.inFlight == 0 else {
            var problem = ProblemDetails(.conflict, "the demo stampede is still running: \(record.inFlight) of its purchases have no outcome yet")
            problem.headers[.retryAfter] = "1"
            throw problem
        }
        let buyers = Dictionary(record.requests.map { ($0.requestId, $0.buyerId) }, uniquingKeysWith: { a, _ in a })
        let attempts = record.outcomes.flatMap { outcome in
            buyers[outcome.requestId].map { TraceFile.Attempt.lines(of: outcome, buyerId: $0) } ?? []
        }
        // What the outcomes say was sold: the page tells the story of what the workers reported.
        let sold = record.outcomes.filter { $0.outcome == .purchased }.count * first.quantity
        let trace = TraceFile(
            run: TraceFile.Run(
                runId: first.runId,
                strategy: first.strategy,
                isolation: first.isolation ?? .readCommitted,
                buyers: record.requests.count,
                items: 1,
                stock: record.stock,
                quantity: first.quantity,
                workers: 0,
                consumersPerWorker: 0,
                thinkMs: first.thinkMs,
                sold: [String(first.itemId): sold],
                oversold: max(0, sold - record.stock)
            ),
            attempts: attempts
        )
        let story = RaceStory(trace)
        return (story, TimelineSVG(trace: trace, story: story).render())
    }

    /// Outcome counters and latency percentiles of this server's purchases, what it forwarded for harness
    /// runs (counted apart: their outcomes go to the harness), and every item.
    func stats() async throws -> [String: Any] {
        let snapshot = ledger.snapshot()
        let latency = snapshot.metrics.latencySummary
        let outcomes = Dictionary(uniqueKeysWithValues: snapshot.metrics.outcomeTotals.map { ($0.key.rawValue, $0.value) })
        let harness = snapshot.harness
        return [
            "outcomes": outcomes,
            "accepted": snapshot.metrics.accepted,
            "pending": snapshot.pending,
            "unknown": snapshot.unknown,
            "harness": ["runs": harness.runs, "forwarded": harness.forwarded, "publishing": harness.publishing, "unconfirmed": harness.unconfirmed],
            "latencyMs": ["p50": latency.p50, "p90": latency.p90, "p99": latency.p99, "max": latency.max],
            "items": try await allItems(),
        ]
    }

    /// Resets the item and publishes `buyers` purchases of it (buyers 1…n) with confirms, answering `202`
    /// once the broker took them all; `503` (naming how many it took) when it could not. One stampede at a
    /// time: while the last one's purchases are neither settled nor past the pending deadline, `409`.
    func fireStampede(_ request: Request) async throws -> Response {
        let body = try await JSONBody(request, fields: ["strategy", "buyers", "stock", "itemId", "thinkMs", "isolation"])
        guard let strategyName = try body.string("strategy") else { throw ProblemDetails.malformed("strategy", "missing") }
        let buyers = try body.integer("buyers") ?? 0
        let stock = try body.integer("stock") ?? 0
        let itemId = try body.integer("itemId", required: false) ?? 1
        let thinkMs = try body.integer("thinkMs", required: false) ?? 0
        let isolation = try Self.isolation(body)
        let strategy = try await strategies.resolve(strategyName)
        guard Self.stampedeBuyers.contains(buyers) else {
            throw ProblemDetails.invalid("buyers", "must be in \(Self.stampedeBuyers), got \(buyers)")
        }
        guard Self.stampedeStock.contains(stock) else {
            throw ProblemDetails.invalid("stock", "must be in \(Self.stampedeStock.lowerBound)...\(Self.stampedeStock.upperBound), got \(stock)")
        }
        guard itemId > 0 else { throw ProblemDetails.invalid("itemId", "must be positive, got \(itemId)") }
        let think = try Self.thinkMs(thinkMs, authorized: access.isAuthorized(request))
        let purchases = (1...buyers).map { buyer in
            PurchaseRequest(
                runId: runId,
                itemId: itemId,
                buyerId: buyer,
                quantity: 1,
                strategy: strategy.name,
                thinkMs: think,
                publishedAt: WallClock.nanoseconds(),
                gated: false,
                isolation: isolation,
                strategyVersion: (strategy as? UserStrategy)?.version,
                trace: true  // GET /stampedes/last/story tells how it raced
            )
        }
        // Claimed before the reset, so a second stampede cannot reset the item under the first one's buyers.
        if let running = ledger.beginStampede(purchases, stock: Int(stock)) {
            var problem = ProblemDetails(
                .conflict,
                "a demo stampede is still running: \(running) of its purchases have no outcome yet (it ends when they settle, "
                    + "or \(Self.describe(ledger.pendingDeadline)) after they were published)"
            )
            problem.headers[.retryAfter] = "1"
            throw problem
        }
        do {
            try await resetItem(itemId, stock: stock, version: 0, keeping: strategy.traits.stock)
        } catch {
            for purchase in purchases { ledger.recordNotSent(purchase.requestId, restoring: nil) }
            throw error
        }
        let codec = MessageCodec()
        let failures = try await withThrowingTaskGroup(of: BrokerGateway.PublishFailure?.self) { group in
            for purchase in purchases {
                let body = try codec.encode(purchase)
                let queue = Topology.queue(for: purchase, delivery: strategy.traits.delivery)
                group.addTask {
                    do {
                        try await self.broker.publish(body, to: queue)
                        self.ledger.recordConfirmed(purchase.requestId)
                        return nil
                    } catch BrokerGateway.PublishFailure.notSent(let reason) {
                        self.ledger.recordNotSent(purchase.requestId, restoring: nil)
                        return .notSent(reason)
                    } catch {
                        self.ledger.recordUnconfirmed(purchase.requestId)
                        return .unconfirmed("\(error)")
                    }
                }
            }
            return try await group.reduce(into: [BrokerGateway.PublishFailure]()) { if let failure = $1 { $0.append(failure) } }
        }
        if !failures.isEmpty {
            let unconfirmed = failures.count(where: { if case .unconfirmed = $0 { true } else { false } })
            throw ProblemDetails.unavailable(
                "RabbitMQ confirmed \(purchases.count - failures.count) of \(purchases.count) purchases; \(unconfirmed) were not confirmed "
                    + "(their status is unknown), \(failures.count - unconfirmed) were not published"
            )
        }
        return try jsonResponse(
            [
                "requestIds": purchases.map { $0.requestId.uuidString.lowercased() },
                "count": purchases.count,
                "itemId": itemId,
                "strategy": strategy.name.rawValue,
                "runId": runId.uuidString.lowercased(),
            ],
            status: .accepted
        )
    }

    /// `10 minutes`, `90 seconds`: a deadline as the 409 says it.
    static func describe(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        return seconds % 60 == 0 ? "\(seconds / 60) minutes" : "\(seconds) seconds"
    }
}
