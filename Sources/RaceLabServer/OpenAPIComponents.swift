import OpenAPIKit30
import Postgres
import RaceLabCore

/// What the routes' OpenAPI operations share: the document's components (schemas, the `ItemId` parameter, the
/// `Problem` and `Unauthorized` responses, the bearer scheme) and shorthands for the pieces every operation
/// writes (a JSON body, a JSON or HTML response, a reference).
enum APIDoc {
    /// The components, with `strategies` as the `Strategy` schema's values (the strategies the server offers now).
    static func components(strategies: [StrategyName]) -> OpenAPI.Components {
        OpenAPI.Components(
            schemas: [
                "Strategy": .string(allowedValues: strategies.map { AnyCodable($0.rawValue) }),
                "Isolation": isolation,
                "StrategyInfo": strategyInfo,
                "PurchaseSubmission": purchaseSubmission,
                "PurchaseAccepted": purchaseAccepted,
                "PurchaseStatus": purchaseStatus,
                "Item": item,
                "Stats": stats,
                "Problem": problem,
            ],
            responses: [
                "Problem": OpenAPI.Response(
                    description: "A client error (400 malformed, 403 refused: another origin or a field that needs the token, 409 conflict, "
                        + "413 too large, 415 not JSON, 422 invalid value) or an unavailable dependency (503), naming the field at fault",
                    content: problemJSON
                ),
                "Unauthorized": OpenAPI.Response(
                    description: "The server has an API token and the request did not carry it",
                    headers: ["WWW-Authenticate": .header(OpenAPI.Header(schema: .string))],
                    content: problemJSON
                ),
            ],
            parameters: [
                "ItemId": OpenAPI.Parameter(name: "id", context: .path, schema: .integer(format: .int64, minimum: (1, exclusive: false)))
            ],
            securitySchemes: [
                "bearerAuth": .http(scheme: "bearer", description: "The server's API token (racelab serve --token, or RACELAB_API_TOKEN).")
            ]
        )
    }

    /// The security scheme every `POST` names when the server has a token.
    static let bearerAuth = "bearerAuth"

    // MARK: Shorthands for the operations

    /// `{"$ref": "#/components/schemas/<name>"}`.
    static func schema(_ name: String, required: Bool = true) -> JSONSchema {
        .reference(.component(named: name), required: required)
    }

    /// `{"$ref": "#/components/parameters/ItemId"}`.
    static let itemId: Either<JSONReference<OpenAPI.Parameter>, OpenAPI.Parameter> = .reference(.component(named: "ItemId"))

    /// A `POST`'s responses: `own`, and what every `POST` with a JSON body may answer before its handler
    /// decides (the access and body checks): 400 malformed, 401 no token, 403 another origin or a field only
    /// the token may set, 413 too large, 415 not JSON, 422 an invalid value.
    static func bodyResponses(_ own: OpenAPI.Response.Map) -> OpenAPI.Response.Map {
        var responses: OpenAPI.Response.Map = [400: .problem, 401: .unauthorized, 403: .problem, 413: .problem, 415: .problem, 422: .problem]
        responses.merge(own) { _, own in own }
        return responses
    }

    /// A required `application/json` request body.
    static func body(_ schema: JSONSchema) -> OpenAPI.Request {
        OpenAPI.Request(content: json(schema), required: true)
    }

    /// `{"application/json": {"schema": ...}}`.
    static func json(_ schema: JSONSchema) -> OpenAPI.Content.Map {
        [.json: OpenAPI.Content(schema: schema)]
    }

    /// A response with a JSON body.
    static func json(_ description: String, _ schema: JSONSchema) -> Either<JSONReference<OpenAPI.Response>, OpenAPI.Response> {
        .response(OpenAPI.Response(description: description, content: json(schema)))
    }

    /// A response with a body of `type` whose schema is a string (an HTML page, Prometheus text).
    static func text(_ description: String, _ type: OpenAPI.ContentType) -> Either<JSONReference<OpenAPI.Response>, OpenAPI.Response> {
        .response(OpenAPI.Response(description: description, content: [type: OpenAPI.Content(schema: .string)]))
    }

    /// `{"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}`.
    static let problemJSON: OpenAPI.Content.Map = [
        OpenAPI.ContentType(rawValue: "application/problem+json")!: OpenAPI.Content(schema: schema("Problem"))
    ]

    // MARK: Schemas

    /// A string whose values are `Values`' raw values: the document follows the enum the code uses.
    private static func string<Values: CaseIterable & RawRepresentable>(of _: Values.Type, description: String? = nil) -> JSONSchema
    where Values.RawValue == String {
        .string(description: description, allowedValues: Values.allCases.map { AnyCodable($0.rawValue) })
    }

    private static let isolation = string(
        of: IsolationLevel.self,
        description: "The isolation level the strategy's transactions run at; the strategy's own default when absent."
    )

    private static let strategyInfo = JSONSchema.object(
        properties: [
            "name": .string,
            "builtIn": .boolean,
            "summary": .string,
            "tradeoff": .string,
            "isolation": schema("Isolation"),
            "delivery": string(of: StrategyTraits.Delivery.self),
            "stock": string(of: StrategyTraits.Stock.self),
            "batches": .boolean,
            "expectation": string(of: StrategyTraits.Expectation.self),
            "version": .string(required: false, description: "strategies from files: the registered version"),
        ]
    )

    private static let purchaseSubmission = JSONSchema.object(
        properties: [
            "itemId": .integer(format: .int64, minimum: (1, exclusive: false)),
            "buyerId": .integer(format: .int64, minimum: (1, exclusive: false)),
            "quantity": .integer(
                required: false,
                maximum: (PurchaseRequest.quantityRange.upperBound, exclusive: false),
                minimum: (PurchaseRequest.quantityRange.lowerBound, exclusive: false),
                defaultValue: 1
            ),
            "strategy": .all(of: [schema("Strategy")], core: .init(required: false, defaultValue: "pessimistic")),
            "thinkMs": .integer(
                required: false,
                description:
                    "How long the buyer holds the item between read and write; above \(APIServer.openThinkLimit) only with the API token (403).",
                maximum: (PurchaseRequest.thinkRange.upperBound, exclusive: false),
                minimum: (PurchaseRequest.thinkRange.lowerBound, exclusive: false),
                defaultValue: 0
            ),
            "requestId": .string(
                format: .extended(.uuid),
                required: false,
                description: "The request's id, an idempotency key; a new one when absent. "
                    + "Sent again with the same body: the same answer; with another body: 422."
            ),
            "runId": .string(
                format: .extended(.uuid),
                required: false,
                description: "The run the request belongs to (a harness firing its own run); only with the API token (403). "
                    + "Outcomes of another run go to that run, so GET /purchases/{id} says forwarded."
            ),
            "gated": .boolean(
                required: false,
                description: "Workers hold the request until the run's gate opens (racelab.control); only with the API token (403).",
                defaultValue: false
            ),
            "isolation": schema("Isolation", required: false),
        ],
        additionalProperties: .a(false)
    )

    private static let purchaseAccepted = JSONSchema.object(
        properties: [
            "requestId": .string(format: .extended(.uuid)),
            "status": .string(
                description: "pending (forwarded: another run's) for a new purchase; a replay says where the purchase stands",
                allowedValues: "pending",
                "forwarded",
                "purchased",
                "soldOut",
                "gaveUp",
                "failed",
                "deadLettered"
            ),
            "runId": .string(format: .extended(.uuid)),
        ]
    )

    private static let purchaseStatus = JSONSchema.object(
        properties: [
            "requestId": .string(format: .extended(.uuid)),
            "status": .string(allowedValues: "pending", "unknown", "forwarded", "purchased", "soldOut", "gaveUp", "failed", "deadLettered"),
            "reason": .string(
                required: false,
                description: "with status unknown: RabbitMQ did not confirm the publish, or no outcome came within the pending deadline "
                    + "(a late one still settles it)",
                allowedValues: "notConfirmed",
                "expired"
            ),
            "itemId": .integer(format: .int64),
            "buyerId": .integer(format: .int64),
            "quantity": .integer,
            "strategy": schema("Strategy"),
            "retries": .integer(required: false),
            "worker": .string(required: false),
            "latencyMs": .number(required: false),
            "error": .string(required: false),
        ]
    )

    private static let item = JSONSchema.object(
        properties: [
            "id": .integer(format: .int64),
            "stock": .integer,
            "initialStock": .integer,
            "version": .integer(format: .int64),
            "sold": .integer(description: "units in the item's orders"),
            "orders": .integer(description: "how many orders"),
        ]
    )

    private static let stats = JSONSchema.object(
        properties: [
            "outcomes": .object(
                properties: ["purchased": .integer, "soldOut": .integer, "gaveUp": .integer, "failed": .integer, "deadLettered": .integer]
            ),
            "accepted": .integer(description: "this server's purchases RabbitMQ confirmed"),
            "pending": .integer(description: "this server's purchases awaiting their outcome"),
            "unknown": .integer(
                description: "this server's purchases whose fate is unknown (not confirmed, or no outcome within the pending deadline)"
            ),
            "harness": .object(
                description: "purchases of harness runs (racelab run --via http, which names its own runId): their outcomes go to the "
                    + "harness, so they are in none of the counts above",
                properties: [
                    "runs": .integer(description: "distinct harness runs among the purchases the server remembers"),
                    "forwarded": .integer(description: "harness purchases RabbitMQ confirmed, since the server started"),
                    "publishing": .integer(description: "harness purchases being published now"),
                    "unconfirmed": .integer(description: "harness purchases RabbitMQ did not confirm"),
                ]
            ),
            "latencyMs": .object(properties: ["p50": .number, "p90": .number, "p99": .number, "max": .number]),
            "items": .array(items: schema("Item")),
        ]
    )

    private static let problem = JSONSchema.object(
        properties: [
            "type": .string,
            "title": .string,
            "status": .integer,
            "detail": .string,
            "field": .string(required: false),
            "requestId": .string(
                format: .extended(.uuid),
                required: false,
                description: "the purchase the server kept (a publish RabbitMQ did not confirm)"
            ),
        ]
    )
}

extension Either where A == JSONReference<OpenAPI.Response>, B == OpenAPI.Response {
    /// `{"$ref": "#/components/responses/Problem"}`.
    static var problem: Self { .reference(.component(named: "Problem")) }
    /// `{"$ref": "#/components/responses/Unauthorized"}`.
    static var unauthorized: Self { .reference(.component(named: "Unauthorized")) }
}
