import Foundation
import RaceLab

/// The inputs of the hot-path benchmarks, built once before anything is measured and the same on every run
/// (fixed ids, seeded draws), so that two runs measure the same work.
enum HotPathFixtures {
    static let runId = UUID(uuidString: "3F0C9A52-6B1D-4E8A-9C41-2D7B5E0F1A63")!  // a literal: cannot fail

    /// A request as the harness publishes it: gated, stamped, one unit of item 1.
    static let request = PurchaseRequest(
        requestId: UUID(uuidString: "8E2D4C71-0A5B-4F39-B6E8-71C3D9A20F54")!,  // a literal: cannot fail
        runId: runId,
        itemId: 1,
        buyerId: 1_742,
        quantity: 1,
        strategy: .pessimistic,
        thinkMs: 5,
        publishedAt: 1_795_509_891_390_652_029,
        gated: true
    )

    /// An outcome as a worker publishes it.
    static let outcome = OutcomeMessage(
        requestId: request.requestId,
        runId: runId,
        itemId: 1,
        strategy: .pessimistic,
        outcome: .purchased,
        retries: 0,
        worker: "bench-host:4242/3",
        finishedAt: 1_795_509_891_402_113_310
    )

    /// Bytes of `request` and `outcome` as they cross RabbitMQ.
    static let requestJSON: [UInt8] = {
        do { return try MessageCodec().encode(request) } catch { fatalError("cannot encode the request fixture: \(error)") }
    }()
    static let outcomeJSON: [UInt8] = {
        do { return try MessageCodec().encode(outcome) } catch { fatalError("cannot encode the outcome fixture: \(error)") }
    }()

    /// `count` outcomes with latencies in microseconds, shaped like a contended run: one purchase in ten,
    /// the rest sold out, latencies spread from 1 ms to 5 s.
    static func settlements(_ count: Int) -> [(outcome: PurchaseOutcome, micros: UInt64)] {
        var generator = SplitMix64(seed: 42)
        return (0..<count).map { index in
            (index % 10 == 0 ? .purchased : .soldOut, UInt64.random(in: 1_000...5_000_000, using: &generator))
        }
    }

    /// What the database says after a run over `items` items of stock 10 each: every item sold out
    /// exactly, or (`oversold`) sold 12 and left at 8, the naive strategy's lost updates, so that each
    /// item breaks two invariants.
    static func observation(items: Int, oversold: Bool) -> RunObservation {
        RunObservation(
            items: (1...items).map { id in
                RunObservation.Item(
                    itemId: Int64(id),
                    initialStock: 10,
                    finalStock: oversold ? 8 : 0,
                    sold: oversold ? 12 : 10,
                    orders: oversold ? 12 : 10
                )
            },
            duplicateRequestIds: []
        )
    }

    /// The outcome counts matching `observation(items:oversold:)` when every item had 12 buyers.
    static func counts(items: Int, oversold: Bool) -> OutcomeCounts {
        var counts = OutcomeCounts()
        counts.purchased = items * (oversold ? 12 : 10)
        counts.soldOut = items * 12 - counts.purchased
        return counts
    }
}
