import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabPipeline

/// The story and the timeline from hand-made traces: what they say follows the data.
@Suite struct TraceStoryTests {
    static let run = TraceFile.Run(
        runId: UUID(),
        strategy: .naive,
        isolation: .readCommitted,
        buyers: 3,
        items: 1,
        stock: 1,
        quantity: 1,
        workers: 1,
        consumersPerWorker: 3,
        thinkMs: 5,
        sold: ["1": 2],
        oversold: 1
    )

    /// A naive attempt: read `read` at `at`, think, write `read − 1` with its order, committed at `at + 10`.
    static func naive(buyer: Int64, session: Int, at: UInt64, read: Int, bought: Bool = true) -> TraceFile.Attempt {
        var steps = [
            TraceStep(
                kind: .read,
                at: at,
                end: at + 1000,
                sql: "SELECT stock FROM items WHERE id = $1",
                column: "stock",
                value: String(read),
                rows: 1
            ),
            TraceStep(kind: .think, at: at + 1000, end: at + 6000),
        ]
        if bought {
            steps += [
                TraceStep(
                    kind: .write,
                    at: at + 6000,
                    end: at + 10_000,
                    sql: "UPDATE items SET stock = $2 WHERE id = $1",
                    column: "stock",
                    value: String(read - 1),
                    rows: 1
                ),
                TraceStep(kind: .order, at: at + 6000, end: at + 10_000, sql: "INSERT INTO orders (request_id) VALUES ($1)", rows: 1),
            ]
        }
        return TraceFile.Attempt(
            requestId: UUID(),
            buyerId: buyer,
            itemId: 1,
            outcome: bought ? .purchased : .soldOut,
            worker: "h:1/\(session)",
            trace: AttemptTrace(
                attempt: 1,
                session: session,
                startedAt: at,
                endedAt: at + 10_000,
                ending: bought ? .purchased : .soldOut,
                steps: steps
            )
        )
    }

    @Test func theFirstLostUpdateIsToldFromTheReadsAndWrites() throws {
        let base: UInt64 = 1_000_000_000
        let trace = TraceFile(
            run: Self.run,
            attempts: [
                Self.naive(buyer: 17, session: 3, at: base, read: 1),
                Self.naive(buyer: 42, session: 1, at: base + 200, read: 1),
                // Reads after both committed: sees 0 and is turned away.
                Self.naive(buyer: 5, session: 2, at: base + 20_000, read: 0, bought: false),
            ]
        )
        let story = RaceStory(trace)
        let collision = try #require(story.firstCollision)
        #expect(story.lostUpdates == 1)
        #expect(collision.buyerIds == [17, 42])
        #expect(collision.stockRead == "1")
        #expect(collision.written == "0")
        #expect(
            collision.text
                == "First lost update, item 1: buyer 17 on session 3 read stock 1 at +1.00 ms; buyer 42 on session 1 read stock 1 at +1.20 ms; "
                + "buyer 17 on session 3 wrote stock 0 at +10.0 ms; buyer 42 on session 1 wrote stock 0 at +10.2 ms: both bought the last unit."
        )
        #expect(story.lines[1] == "The database has 2 units sold of 1: oversold by 1.")
    }

    @Test func readsOfTheSameStockAfterTheOtherCommittedAreNoCollision() {
        let base: UInt64 = 1_000_000_000
        // Both read 1, but the second read came after the first commit (another sale restocked in between, say).
        let trace = TraceFile(
            run: Self.run,
            attempts: [Self.naive(buyer: 1, session: 1, at: base, read: 1), Self.naive(buyer: 2, session: 2, at: base + 15_000, read: 1)]
        )
        let story = RaceStory(trace)
        #expect(story.firstCollision == nil)
        #expect(story.lostUpdates == 0)
        #expect(story.text.contains("No lost update"))
    }

    @Test func theLockQueueIsSweptFromRequestsAndGrants() throws {
        let base: UInt64 = 5_000_000
        func locked(_ buyer: Int64, session: Int, requested: UInt64, granted: UInt64, commit: UInt64) -> TraceFile.Attempt {
            let steps = [
                TraceStep(kind: .begin, at: requested, end: granted),
                TraceStep(
                    kind: .lock,
                    at: requested,
                    end: granted,
                    sql: "SELECT stock FROM items WHERE id = $1 FOR UPDATE",
                    column: "stock",
                    value: "9",
                    rows: 1
                ),
                TraceStep(kind: .think, at: granted, end: commit),
                TraceStep(kind: .write, at: commit, end: commit + 500, sql: "UPDATE items SET stock = stock - $2 WHERE id = $1", rows: 1),
                TraceStep(kind: .commit, at: commit, end: commit + 500),
            ]
            return TraceFile.Attempt(
                requestId: UUID(),
                buyerId: buyer,
                itemId: 1,
                outcome: .purchased,
                worker: "w",
                trace: AttemptTrace(attempt: 1, session: session, startedAt: requested, endedAt: commit + 500, ending: .purchased, steps: steps)
            )
        }
        var run = Self.run
        run.strategy = .pessimistic
        let trace = TraceFile(
            run: run,
            attempts: [
                locked(1, session: 10, requested: base, granted: base + 100, commit: base + 5000),
                locked(2, session: 11, requested: base + 50, granted: base + 5100, commit: base + 10_000),
                locked(3, session: 12, requested: base + 60, granted: base + 10_200, commit: base + 15_000),
            ]
        )
        let queue = try #require(RaceStory(trace).lockQueue)
        #expect(queue.grants == 3)
        #expect(queue.longest == 3)
        #expect(queue.longestWaitBuyerId == 3)
        #expect(abs(queue.longestWaitMs - 10.14) < 1e-9)
        #expect(queue.handOffs == 2)
        #expect(queue.overlaps == 0)
        #expect(abs((queue.medianHandOffMs ?? 0) - 0.15) < 1e-9)
    }

    @Test func statementsAreToldFromTheirSQL() {
        #expect(TraceStep.Kind.of(sql: "SELECT stock FROM items WHERE id = $1") == .read)
        #expect(TraceStep.Kind.of(sql: "select stock from items where id = $1 for update nowait") == .lock)
        #expect(TraceStep.Kind.of(sql: "SELECT pg_advisory_xact_lock($1)") == .lock)
        #expect(TraceStep.Kind.of(sql: "BEGIN ISOLATION LEVEL SERIALIZABLE") == .begin)
        #expect(TraceStep.Kind.of(sql: "COMMIT") == .commit)
        #expect(TraceStep.Kind.of(sql: "UPDATE items SET stock = $2 WHERE id = $1") == .write)
        #expect(TraceStep.Kind.of(sql: "INSERT INTO orders (request_id) VALUES ($1)") == .order)
        #expect(TraceStep.Kind.of(sql: "WITH bought AS (UPDATE items SET stock = stock - 1 RETURNING id) INSERT INTO orders SELECT 1") == .write)
        #expect(AttemptTracer.assignedParameter("UPDATE items SET stock = $2 WHERE id = $1")! == ("stock", 1))
        #expect(AttemptTracer.assignedParameter("UPDATE items SET stock = stock - $2 WHERE id = $1") == nil)
    }

    @Test func aTraceFileReadsBackAndItsMistakesNameTheLine() throws {
        let trace = TraceFile(run: Self.run, attempts: [Self.naive(buyer: 1, session: 1, at: 1_000_000, read: 1)])
        let text = try trace.lines().joined(separator: "\n")
        #expect(try TraceFile(parsing: text) == trace)
        #expect(throws: TraceFileError(reason: "line 2: not a JSON object")) { try TraceFile(parsing: text.split(separator: "\n")[0] + "\n{oops") }
        #expect(throws: TraceFileError(reason: "no run line: not a trace written by racelab run --trace")) { try TraceFile(parsing: "") }
        #expect(throws: TraceFileError.self) { try TraceFile(parsing: String(text.split(separator: "\n")[1])) }
    }

    @Test func theTimelineOutlinesTheCollidingBuyers() {
        let base: UInt64 = 1_000_000_000
        let trace = TraceFile(
            run: Self.run,
            attempts: [Self.naive(buyer: 17, session: 3, at: base, read: 1), Self.naive(buyer: 42, session: 1, at: base + 200, read: 1)]
        )
        let svg = TimelineSVG(trace: trace, story: RaceStory(trace)).render()
        #expect(svg.components(separatedBy: "class=\"collision\"").count - 1 == 2)
        #expect(svg.contains(">session 3<") && svg.contains(">session 1<"))
        #expect(svg.contains("buyer 17: read stock = 1"))
        #expect(!svg.contains("<script"))
    }
}
