import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct RunHistoryTests {
    func request(_ buyer: Int64, runId: UUID, at time: UInt64) -> PurchaseRequest {
        PurchaseRequest(runId: runId, itemId: 1, buyerId: buyer, strategy: .pessimistic, publishedAt: time, gated: true)
    }

    @Test func everyRequestGetsAnInvokeAndOneCompletionOfTheRightKind() throws {
        let runId = UUID()
        let history = RunHistory()
        let bought = request(1, runId: runId, at: 10)
        let turnedAway = request(2, runId: runId, at: 11)
        let unknown = request(3, runId: runId, at: 12)
        for r in [bought, turnedAway, unknown] { history.invoked(r) }
        history.completed(
            OutcomeMessage(
                requestId: bought.requestId,
                runId: runId,
                itemId: 1,
                strategy: .pessimistic,
                outcome: .purchased,
                retries: 0,
                worker: "w/1",
                finishedAt: 20
            )
        )
        history.completed(
            OutcomeMessage(
                requestId: turnedAway.requestId,
                runId: runId,
                itemId: 1,
                strategy: .pessimistic,
                outcome: .soldOut,
                retries: 0,
                worker: "w/2",
                finishedAt: 21
            )
        )
        history.indeterminate(requestId: unknown.requestId)

        let kinds = Dictionary(grouping: history.events, by: \.requestId).mapValues { $0.map(\.type) }
        #expect(kinds[bought.requestId] == [.invoke, .ok])
        #expect(kinds[turnedAway.requestId] == [.invoke, .fail])
        #expect(kinds[unknown.requestId] == [.invoke, .info])
    }

    @Test func theFileHoldsOneJSONObjectPerLineInTimeOrder() throws {
        let runId = UUID()
        let history = RunHistory()
        let late = request(1, runId: runId, at: 50)
        let early = request(2, runId: runId, at: 5)
        history.invoked(late)
        history.invoked(early)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try history.write(to: file)
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let times = try lines.map { try JSONDecoder().decode(RunHistory.Event.self, from: Data($0.utf8)).time }
        #expect(times == [5, 50])
    }
}
