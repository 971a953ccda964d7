import Foundation
import Postgres
import RaceLabCore

/// Many buyers of one item in one transaction: a worker takes the requests for the item that are
/// ready at once (up to its batch size), locks the row once, grants them in arrival order while the
/// stock lasts, and writes one `UPDATE` and one multi-row `INSERT`.
///
/// ```sql
/// BEGIN;                                                   -- round trip 1 (pipelined)
/// SELECT stock FROM items WHERE id = $1 FOR UPDATE;
/// SELECT request_id FROM orders WHERE request_id = ANY($1);  -- only when a request is redelivered
/// -- think once for the batch; grant each request in order while stock ≥ its quantity
/// UPDATE items SET stock = stock - $granted, version = version + 1 WHERE id = $1;   -- round trip 2
/// INSERT INTO orders (...) SELECT ... FROM unnest($request_ids, $run_ids, $buyers, $quantities);
/// COMMIT;
/// ```
///
/// Correct for the same reason as `pessimistic` — the row lock is held from the read to the commit —
/// but one lock, one commit and one fsync serve the whole batch, so it goes past the
/// one-transaction-per-purchase limit. A request alone (or a batch that fails, say on a duplicate
/// request id) is served on its own by the pessimistic transaction.
public struct BatchedStrategy: PurchaseStrategy {
    public var name: StrategyName { .batched }
    public var summary: String { "the ready requests for one item (up to --batch-size) in one locked transaction, granted in order" }
    public var tradeoff: String { "a request waits for its batch; one lock, one commit and one fsync serve many buyers" }
    public var traits: StrategyTraits { StrategyTraits(batches: true) }

    static let lock = PreparedStatement(name: "batched_lock", sql: "SELECT stock FROM items WHERE id = $1 FOR UPDATE")
    static let bought = PreparedStatement(name: "batched_bought", sql: "SELECT request_id FROM orders WHERE request_id = ANY($1::uuid[])")
    static let write = PreparedStatement(
        name: "batched_write",
        sql: "UPDATE items SET stock = stock - $2, version = version + 1 WHERE id = $1"
    )
    static let insert = PreparedStatement(
        name: "batched_insert",
        sql: """
            INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy)
            SELECT r, u, $3, b, q, 'batched' FROM unnest($1::uuid[], $2::uuid[], $4::bigint[], $5::integer[]) AS t(r, u, b, q)
            """
    )

    public init() {}

    /// One request on its own: the pessimistic transaction.
    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        try PessimisticLockStrategy().attempt(request, isolation: isolation, on: db)
    }

    /// Settles requests for one item in one transaction; the attempts come back in the requests' order.
    ///
    /// A redelivered request whose order exists is `.purchased` without buying again.
    /// - Throws: `PostgresError` when the transaction fails; nothing was bought then.
    public func attempt(batch: [BatchEntry], isolation: IsolationLevel, on db: PostgresConnection) throws -> [PurchaseAttempt] {
        guard let first = batch.first else { return [] }
        precondition(batch.allSatisfy { $0.request.itemId == first.request.itemId }, "a batch is for one item")
        let item = String(first.request.itemId)
        var opening = [PostgresConnection.Step(Self.lock, [item])]
        if batch.contains(where: \.redelivered) {
            opening.append(.init(Self.bought, [PostgresConnection.arrayLiteral(batch.map { $0.request.requestId.uuidString })]))
        }
        return try db.transaction(isolation: isolation, opening: opening) { opened in
            guard var stock = opened[0].int(0, 0) else { return .rollback(Array(repeating: .noSuchItem, count: batch.count)) }
            let alreadyBought = Set(opened.count > 1 ? opened[1].rows.compactMap { $0.first.flatMap { $0 } }.compactMap(UUID.init(uuidString:)) : [])
            var attempts: [PurchaseAttempt] = []
            var granted: [PurchaseRequest] = []
            for request in batch.map(\.request) {
                if alreadyBought.contains(request.requestId) {
                    attempts.append(.purchased)
                } else if stock >= request.quantity {
                    stock -= request.quantity
                    granted.append(request)
                    attempts.append(.purchased)
                } else {
                    attempts.append(.soldOut)
                }
            }
            guard !granted.isEmpty else { return .rollback(attempts) }
            if let slowest = batch.max(by: { $0.request.thinkMs < $1.request.thinkMs }) { think(slowest.request, on: db) }
            return .commit(
                attempts,
                writes: [
                    .init(Self.write, [item, String(granted.reduce(0) { $0 + $1.quantity })]),
                    .init(
                        Self.insert,
                        [
                            PostgresConnection.arrayLiteral(granted.map(\.requestId.uuidString)),
                            PostgresConnection.arrayLiteral(granted.map(\.runId.uuidString)), item,
                            PostgresConnection.arrayLiteral(granted.map { String($0.buyerId) }),
                            PostgresConnection.arrayLiteral(granted.map { String($0.quantity) }),
                        ]
                    ),
                ]
            )
        }
    }

    public func pgbenchScript(_ context: PgbenchContext) -> PgbenchScript? {
        let k = context.batchSize
        let q = context.quantity
        return PgbenchScript(
            text: """
                \\startpipeline
                BEGIN;
                SELECT stock FROM items WHERE id = \(context.item) FOR UPDATE;
                \\endpipeline
                \\startpipeline
                UPDATE items SET stock = stock - \(k * q), version = version + 1 WHERE id = \(context.item);
                INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) \
                SELECT gen_random_uuid(), '\(context.runId.uuidString)', \(context.item), b, \(q), '\(name.rawValue)' FROM generate_series(1, \(k)) AS b;
                COMMIT;
                \\endpipeline

                """,
            purchasesPerTransaction: k,
            note: "pgbench grants \(k) purchases per transaction (a full batch); the pipeline's batches are whatever is ready, up to \(k)"
        )
    }
}
