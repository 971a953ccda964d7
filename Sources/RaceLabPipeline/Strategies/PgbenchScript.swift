import Foundation
import RaceLabCore

/// What a strategy's pgbench script is written for: the hot item, the quantity each purchase takes,
/// the run id its orders carry, and the batch size of a batching strategy.
public struct PgbenchContext: Sendable, Equatable {
    public var item: Int64
    public var quantity: Int
    public var runId: UUID
    public var batchSize: Int

    public init(item: Int64 = 1, quantity: Int = 1, runId: UUID = UUID(), batchSize: Int = 16) {
        self.item = item
        self.quantity = quantity
        self.runId = runId
        self.batchSize = batchSize
    }
}

/// A pgbench script that runs a strategy's own statements, in the round trips the strategy uses
/// (`\startpipeline` … `\endpipeline` where it pipelines), so `racelab bench` can set the pipeline
/// beside the database doing the same work with no queue and no workers.
public struct PgbenchScript: Sendable, Equatable {
    /// How many pgbench clients stand for the strategy's database sessions.
    public enum Clients: String, Sendable, Equatable, Codable {
        /// As many as the pipeline has consumer threads.
        case sameAsSessions = "same-as-sessions"
        /// One: the strategy serves an item from one session at a time.
        case one
    }

    /// The script's text (pgbench's syntax: SQL, `\set`, `\gset`, `\startpipeline`).
    public var text: String
    public var clients: Clients
    /// Purchases each pgbench transaction stands for (a batch buys several at once).
    public var purchasesPerTransaction: Int
    /// Where the script has to differ from the strategy, in words; nil when it runs the strategy's SQL as is.
    public var note: String?

    public init(text: String, clients: Clients = .sameAsSessions, purchasesPerTransaction: Int = 1, note: String? = nil) {
        self.text = text
        self.clients = clients
        self.purchasesPerTransaction = purchasesPerTransaction
        self.note = note
    }

    /// The order `INSERT` every purchase writes, with a fresh request id and a random buyer.
    public static func orderInsert(_ context: PgbenchContext, strategy: StrategyName) -> String {
        "INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) VALUES (gen_random_uuid(), "
            + "'\(context.runId.uuidString)', \(context.item), :buyer, \(context.quantity), '\(strategy.rawValue)');"
    }

    /// `SELECT stock \gset` in its own round trip, then the write (of the value read) and the order in
    /// one pipelined implicit transaction: the naive strategy's SQL at read committed.
    static func readThenWrite(_ context: PgbenchContext, strategy: StrategyName) -> PgbenchScript {
        PgbenchScript(
            text: """
                \\set buyer random(1, 1000000000)
                SELECT stock FROM items WHERE id = \(context.item) \\gset
                \\startpipeline
                UPDATE items SET stock = :stock - \(context.quantity) WHERE id = \(context.item);
                \(orderInsert(context, strategy: strategy))
                \\endpipeline

                """
        )
    }

    /// `BEGIN` and the locking read in one pipelined round trip, then the write, the order and
    /// `COMMIT` in another: the pessimistic transaction. pgbench cannot use a result inside a
    /// pipeline, so there is no stock check — the benchmark's stock never runs out.
    static func lockThenWrite(_ context: PgbenchContext, strategy: StrategyName, lock: String?, opening: [String]? = nil) -> PgbenchScript {
        let reads = opening ?? ["SELECT stock FROM items WHERE id = \(context.item) \(lock ?? "");"]
        return PgbenchScript(
            text: """
                \\set buyer random(1, 1000000000)
                \\startpipeline
                BEGIN;
                \(reads.joined(separator: "\n"))
                \\endpipeline
                \\startpipeline
                UPDATE items SET stock = stock - \(context.quantity), version = version + 1 WHERE id = \(context.item);
                \(orderInsert(context, strategy: strategy))
                COMMIT;
                \\endpipeline

                """
        )
    }
}
