import RaceLabCore
import RaceLabPipeline

/// The hand-maintained OpenAPI 3.0 description of the API, served at `GET /openapi.json`.
///
/// Keep it in step with the routes: `RaceLabServerTests` checks that every route is in it, and
/// `api-checks` (schemathesis) that the server answers as it says. Two parts are filled in when served:
/// the `Strategy` enum, from the strategies the server offers then, and each `POST`'s `security`, which
/// names the bearer token when the server has one; the stampede's stock limit comes from the server too.
enum OpenAPIDocument {
    /// The document with `strategies` as the `Strategy` schema's values; `tokenRequired`: the server has a token.
    static func json(strategies: [StrategyName], tokenRequired: Bool) -> String {
        let values = strategies.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        return template.replacingOccurrences(
            of: #""enum": ["naive", "pessimistic", "optimistic", "advisory", "batched"]"#,
            with: "\"enum\": [\(values)]"
        )
        .replacingOccurrences(of: "/*SECURITY*/", with: tokenRequired ? #""security": [{"bearerAuth": []}],"# : #""security": [],"#)
        .replacingOccurrences(of: "/*STAMPEDE_STOCK_MAX*/0", with: "\(APIServer.stampedeStock.upperBound)")
    }

    /// The document with a `/*SECURITY*/` marker in each `POST` and the stampede's stock limit to fill in
    /// (not JSON until ``json(strategies:tokenRequired:)``).
    private static let template = #"""
        {
          "openapi": "3.0.3",
          "info": {
            "title": "RaceLab API",
            "version": "1.1.0",
            "description": "Buy the last item over HTTP. Purchases are published to RabbitMQ with publisher confirms and settled by RaceLab workers against PostgreSQL. Every POST needs Content-Type application/json (415) and is refused from another origin (403); when the server has an API token, every POST needs Authorization: Bearer <token> (401)."
          },
          "paths": {
            "/purchases": {
              "post": {
                "summary": "Submit a purchase",
                "description": "Validates the request, publishes it persistent to racelab.purchases and answers once RabbitMQ confirmed it. A requestId the server knows makes the request a replay: the same body is answered 202 with where that purchase stands now (published again when its status is unknown); a different body is 422.",
                /*SECURITY*/
                "requestBody": {
                  "required": true,
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PurchaseSubmission"}}}
                },
                "responses": {
                  "202": {
                    "description": "Accepted: the broker holds the request (or, for a replay, it was taken before); follow Location for the outcome.",
                    "headers": {"Location": {"schema": {"type": "string"}, "description": "/purchases/{id}"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PurchaseAccepted"}}}
                  },
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "409": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"},
                  "422": {"$ref": "#/components/responses/Problem"},
                  "503": {
                    "description": "RabbitMQ could not take the purchase (nothing published: retry), or did not confirm it: then the problem carries its requestId and Location, its status is unknown, and the same body may be sent again.",
                    "headers": {
                      "Location": {"schema": {"type": "string"}, "description": "/purchases/{id}, when the purchase was kept"},
                      "Retry-After": {"schema": {"type": "integer"}}
                    },
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                  }
                }
              }
            },
            "/purchases/{id}": {
              "get": {
                "summary": "A purchase's status",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                "responses": {
                  "200": {"description": "The status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PurchaseStatus"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/items": {
              "get": {
                "summary": "Every item (up to 1000) with its stock and sales",
                "responses": {
                  "200": {
                    "description": "The items",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["items"],
                          "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}
                        }
                      }
                    }
                  },
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/items/{id}": {
              "get": {
                "summary": "One item",
                "parameters": [{"$ref": "#/components/parameters/ItemId"}],
                "responses": {
                  "200": {"description": "The item", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"},
                  "422": {"$ref": "#/components/responses/Problem"},
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/items/{id}/reset": {
              "post": {
                "summary": "Create or reset an item: set its stock and version, delete its orders",
                "parameters": [{"$ref": "#/components/parameters/ItemId"}],
                /*SECURITY*/
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "object",
                        "required": ["stock"],
                        "additionalProperties": false,
                        "properties": {
                          "stock": {"type": "integer", "minimum": 0, "maximum": 1000000000},
                          "version": {"type": "integer", "format": "int64", "minimum": 0, "default": 0}
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "200": {"description": "The item after the reset", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"},
                  "422": {"$ref": "#/components/responses/Problem"},
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/events": {
              "get": {
                "summary": "Live Server-Sent Events",
                "description": "event: outcome, data: the worker's outcome message (JSON), for every purchase this server accepted; event: stock, data: {itemId, stock} after a purchase or a reset; a comment line every 15 s. At most a bounded number of streams are open at once.",
                "responses": {
                  "200": {
                    "description": "An endless event stream",
                    "content": {
                      "text/event-stream": {
                        "schema": {
                          "type": "object",
                          "description": "One event",
                          "required": ["event", "data"],
                          "properties": {
                            "event": {"type": "string", "enum": ["outcome", "stock"]},
                            "data": {"type": "string", "description": "JSON: the outcome message, or {itemId, stock}"}
                          }
                        }
                      }
                    }
                  },
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/metrics": {
              "get": {
                "summary": "Prometheus metrics",
                "description": "racelab_purchases_total{strategy,outcome}, racelab_purchase_latency_seconds (histogram, publish to commit), racelab_purchases_accepted_total, racelab_purchases_forwarded_total (harness runs' purchases), racelab_purchases_unavailable_total, racelab_purchases_pending, racelab_purchases_unknown, racelab_queue_depth, racelab_broker_up.",
                "responses": {"200": {"description": "Prometheus text format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}}
              }
            },
            "/openapi.json": {
              "get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.0", "content": {"application/json": {"schema": {"type": "object"}}}}}
              }
            },
            "/docs": {
              "get": {
                "summary": "A readable page of this document",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}
              }
            },
            "/": {
              "get": {
                "summary": "The live dashboard",
                "description": "Items with live stock, sold against initial stock (an oversell flagged), outcome counters and latency percentiles, updated over /events; forms to reset an item and fire a demo stampede. Self-contained HTML.",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}
              }
            },
            "/stats": {
              "get": {
                "summary": "Outcome counters, latency percentiles and every item",
                "description": "Counts the purchases this server accepted, and apart from them the purchases it forwarded for harness runs. latencyMs runs from publish to the worker's commit (HdrHistogram); items are at most 1000, by id.",
                "responses": {
                  "200": {"description": "The numbers the dashboard shows", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}},
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/strategies": {
              "get": {
                "summary": "The strategies this server offers",
                "description": "The built-ins and the strategies registered from files (racelab run --strategy-file), read again from the database on each call.",
                "responses": {
                  "200": {
                    "description": "The strategies",
                    "content": {"application/json": {"schema": {"type": "object", "required": ["strategies"], "properties": {"strategies": {"type": "array", "items": {"$ref": "#/components/schemas/StrategyInfo"}}}}}}
                  },
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/stampedes/last/story": {
              "get": {
                "summary": "How the last demo stampede raced",
                "description": "Told from the attempts the workers traced (a demo stampede's purchases ask for a trace): the first lost update step by step, the lock queue, the conflicts (racelab explain's story), and the swimlane timeline as SVG. 404 before the first stampede; 409 while some of its purchases have no outcome yet.",
                "responses": {
                  "200": {
                    "description": "The story",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["strategy", "attempts", "lines", "lostUpdates", "svg"],
                          "properties": {
                            "strategy": {"$ref": "#/components/schemas/Strategy"},
                            "attempts": {"type": "integer", "minimum": 0},
                            "lines": {"type": "array", "items": {"type": "string"}},
                            "lostUpdates": {"type": "integer", "minimum": 0},
                            "svg": {"type": "string", "description": "a self-contained SVG timeline, one lane per database session"}
                          }
                        }
                      }
                    }
                  },
                  "404": {"$ref": "#/components/responses/Problem"},
                  "409": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/stampedes": {
              "post": {
                "summary": "Fire a demo stampede",
                "description": "Resets the item to the given stock (deleting its orders), then publishes one purchase per buyer (buyers 1...n) with publisher confirms, server side. Outcomes arrive on /events and count in /stats. One at a time: while the last stampede's purchases are neither settled nor past the pending deadline, 409.",
                /*SECURITY*/
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "object",
                        "required": ["strategy", "buyers", "stock"],
                        "additionalProperties": false,
                        "properties": {
                          "strategy": {"$ref": "#/components/schemas/Strategy"},
                          "buyers": {"type": "integer", "minimum": 1, "maximum": 10000},
                          "stock": {"type": "integer", "minimum": 0, "maximum": /*STAMPEDE_STOCK_MAX*/0},
                          "itemId": {"type": "integer", "format": "int64", "minimum": 1, "default": 1},
                          "thinkMs": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 0, "description": "above 1000 only with the API token (403)"},
                          "isolation": {"$ref": "#/components/schemas/Isolation"}
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "202": {
                    "description": "Every purchase was confirmed by RabbitMQ",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["requestIds", "count", "itemId", "strategy", "runId"],
                          "properties": {
                            "requestIds": {"type": "array", "items": {"type": "string", "format": "uuid"}},
                            "count": {"type": "integer"},
                            "itemId": {"type": "integer", "format": "int64"},
                            "strategy": {"$ref": "#/components/schemas/Strategy"},
                            "runId": {"type": "string", "format": "uuid"}
                          }
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Problem"},
                  "409": {"$ref": "#/components/responses/Problem"},
                  "413": {"$ref": "#/components/responses/Problem"},
                  "415": {"$ref": "#/components/responses/Problem"},
                  "422": {"$ref": "#/components/responses/Problem"},
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearerAuth": {"type": "http", "scheme": "bearer", "description": "The server's API token (racelab serve --token, or RACELAB_API_TOKEN)."}
            },
            "parameters": {
              "ItemId": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": 1}}
            },
            "responses": {
              "Problem": {
                "description": "A client error (400 malformed, 403 refused: another origin or a field that needs the token, 409 conflict, 413 too large, 415 not JSON, 422 invalid value) or an unavailable dependency (503), naming the field at fault",
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
              },
              "Unauthorized": {
                "description": "The server has an API token and the request did not carry it",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
              }
            },
            "schemas": {
              "Strategy": {"type": "string", "enum": ["naive", "pessimistic", "optimistic", "advisory", "batched"]},
              "Isolation": {
                "type": "string",
                "enum": ["read-committed", "repeatable-read", "serializable"],
                "description": "The isolation level the strategy's transactions run at; the strategy's own default when absent."
              },
              "StrategyInfo": {
                "type": "object",
                "required": ["name", "builtIn", "summary", "tradeoff", "isolation", "delivery", "stock", "batches", "expectation"],
                "properties": {
                  "name": {"type": "string"},
                  "builtIn": {"type": "boolean"},
                  "summary": {"type": "string"},
                  "tradeoff": {"type": "string"},
                  "isolation": {"$ref": "#/components/schemas/Isolation"},
                  "delivery": {"type": "string", "enum": ["shared", "serialized-by-item"]},
                  "stock": {"type": "string", "enum": ["item-row", "unit-rows"]},
                  "batches": {"type": "boolean"},
                  "expectation": {"type": "string", "enum": ["exact", "oversells", "unknown"]},
                  "version": {"type": "string", "description": "strategies from files: the registered version"}
                }
              },
              "PurchaseSubmission": {
                "type": "object",
                "required": ["itemId", "buyerId"],
                "additionalProperties": false,
                "properties": {
                  "itemId": {"type": "integer", "format": "int64", "minimum": 1},
                  "buyerId": {"type": "integer", "format": "int64", "minimum": 1},
                  "quantity": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
                  "strategy": {"allOf": [{"$ref": "#/components/schemas/Strategy"}], "default": "pessimistic"},
                  "thinkMs": {"type": "integer", "minimum": 0, "maximum": 60000, "default": 0, "description": "How long the buyer holds the item between read and write; above 1000 only with the API token (403)."},
                  "requestId": {"type": "string", "format": "uuid", "description": "The request's id, an idempotency key; a new one when absent. Sent again with the same body: the same answer; with another body: 422."},
                  "runId": {"type": "string", "format": "uuid", "description": "The run the request belongs to (a harness firing its own run); only with the API token (403). Outcomes of another run go to that run, so GET /purchases/{id} says forwarded."},
                  "gated": {"type": "boolean", "default": false, "description": "Workers hold the request until the run's gate opens (racelab.control); only with the API token (403)."},
                  "isolation": {"$ref": "#/components/schemas/Isolation"}
                }
              },
              "PurchaseAccepted": {
                "type": "object",
                "required": ["requestId", "status", "runId"],
                "properties": {
                  "requestId": {"type": "string", "format": "uuid"},
                  "status": {
                    "type": "string",
                    "enum": ["pending", "forwarded", "purchased", "soldOut", "gaveUp", "failed", "deadLettered"],
                    "description": "pending (forwarded: another run's) for a new purchase; a replay says where the purchase stands"
                  },
                  "runId": {"type": "string", "format": "uuid"}
                }
              },
              "PurchaseStatus": {
                "type": "object",
                "required": ["requestId", "status", "itemId", "buyerId", "quantity", "strategy"],
                "properties": {
                  "requestId": {"type": "string", "format": "uuid"},
                  "status": {"type": "string", "enum": ["pending", "unknown", "forwarded", "purchased", "soldOut", "gaveUp", "failed", "deadLettered"]},
                  "reason": {
                    "type": "string",
                    "enum": ["notConfirmed", "expired"],
                    "description": "with status unknown: RabbitMQ did not confirm the publish, or no outcome came within the pending deadline (a late one still settles it)"
                  },
                  "itemId": {"type": "integer", "format": "int64"},
                  "buyerId": {"type": "integer", "format": "int64"},
                  "quantity": {"type": "integer"},
                  "strategy": {"$ref": "#/components/schemas/Strategy"},
                  "retries": {"type": "integer"},
                  "worker": {"type": "string"},
                  "latencyMs": {"type": "number"},
                  "error": {"type": "string"}
                }
              },
              "Item": {
                "type": "object",
                "required": ["id", "stock", "initialStock", "version", "sold", "orders"],
                "properties": {
                  "id": {"type": "integer", "format": "int64"},
                  "stock": {"type": "integer"},
                  "initialStock": {"type": "integer"},
                  "version": {"type": "integer", "format": "int64"},
                  "sold": {"type": "integer", "description": "units in the item's orders"},
                  "orders": {"type": "integer", "description": "how many orders"}
                }
              },
              "Stats": {
                "type": "object",
                "required": ["outcomes", "accepted", "pending", "unknown", "harness", "latencyMs", "items"],
                "properties": {
                  "outcomes": {
                    "type": "object",
                    "required": ["purchased", "soldOut", "gaveUp", "failed", "deadLettered"],
                    "properties": {
                      "purchased": {"type": "integer"}, "soldOut": {"type": "integer"}, "gaveUp": {"type": "integer"},
                      "failed": {"type": "integer"}, "deadLettered": {"type": "integer"}
                    }
                  },
                  "accepted": {"type": "integer", "description": "this server's purchases RabbitMQ confirmed"},
                  "pending": {"type": "integer", "description": "this server's purchases awaiting their outcome"},
                  "unknown": {"type": "integer", "description": "this server's purchases whose fate is unknown (not confirmed, or no outcome within the pending deadline)"},
                  "harness": {
                    "type": "object",
                    "description": "purchases of harness runs (racelab run --via http, which names its own runId): their outcomes go to the harness, so they are in none of the counts above",
                    "required": ["runs", "forwarded", "publishing", "unconfirmed"],
                    "properties": {
                      "runs": {"type": "integer", "description": "distinct harness runs among the purchases the server remembers"},
                      "forwarded": {"type": "integer", "description": "harness purchases RabbitMQ confirmed, since the server started"},
                      "publishing": {"type": "integer", "description": "harness purchases being published now"},
                      "unconfirmed": {"type": "integer", "description": "harness purchases RabbitMQ did not confirm"}
                    }
                  },
                  "latencyMs": {
                    "type": "object",
                    "required": ["p50", "p90", "p99", "max"],
                    "properties": {"p50": {"type": "number"}, "p90": {"type": "number"}, "p99": {"type": "number"}, "max": {"type": "number"}}
                  },
                  "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
                }
              },
              "Problem": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                  "type": {"type": "string"},
                  "title": {"type": "string"},
                  "status": {"type": "integer"},
                  "detail": {"type": "string"},
                  "field": {"type": "string"},
                  "requestId": {"type": "string", "format": "uuid", "description": "the purchase the server kept (a publish RabbitMQ did not confirm)"}
                }
              }
            }
          }
        }
        """#
}
