import AMQP
import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct DeadLetterTests {
    // MARK: Reason

    @Test func theWorkersReasonWinsOverTheBrokers() {
        let reason = DeadLetter.reason(in: [
            "x-racelab-reason": .string("field itemId: expected an integer, got a string"),
            "x-first-death-reason": .string("rejected"),
        ])
        #expect(reason == "field itemId: expected an integer, got a string")
    }

    @Test func theBrokersFirstDeathReasonIsTheFallback() {
        #expect(DeadLetter.reason(in: ["x-first-death-reason": .string("delivery_limit"), "x-first-death-queue": .string("q")]) == "delivery_limit")
    }

    @Test func aDeadLetterWithoutEitherHeaderHasAnUnknownReason() {
        #expect(DeadLetter.reason(in: [:]) == "unknown")
        #expect(DeadLetter.reason(in: ["x-racelab-worker": .string("w/1")]) == "unknown")
    }

    @Test func reasonHeadersThatAreNotTextOrAreEmptyAreSkipped() {
        #expect(DeadLetter.reason(in: ["x-racelab-reason": .int64(3), "x-first-death-reason": .string("rejected")]) == "rejected")
        #expect(DeadLetter.reason(in: ["x-racelab-reason": .string(""), "x-first-death-reason": .string("rejected")]) == "rejected")
        #expect(DeadLetter.reason(in: ["x-racelab-reason": .bool(true)]) == "unknown")
    }

    @Test func theHeaderNamesAreTheOnesTheWorkerWrites() {
        #expect(Topology.reasonHeader == "x-racelab-reason")
        #expect(Topology.workerHeader == "x-racelab-worker")
        #expect(Topology.deadLetteredAtHeader == "x-racelab-dead-lettered-at")
    }

    // MARK: Reading a dead letter

    @Test func aWorkersDeadLetterCarriesItsWorkerTimeAndRequestIds() throws {
        let runId = UUID()
        let requestId = UUID()
        let body = #"{"requestId":"\#(requestId.uuidString.lowercased())","runId":"\#(runId)","itemId":"1","buyerId":1,"strategy":"naive"}"#
        var properties = AMQPMessageProperties(messageId: "poison-1")
        properties.headers = [
            "x-racelab-reason": .string("field itemId: expected an integer, got a string"),
            "x-racelab-worker": .string("local-1/2"),
            "x-racelab-dead-lettered-at": .int64(1_700_000_000_123_456_789),
        ]
        let letter = DeadLetter(body: Array(body.utf8), properties: properties)
        #expect(letter.reason == "field itemId: expected an integer, got a string")
        #expect(letter.messageId == "poison-1")
        #expect(letter.worker == "local-1/2")
        #expect(letter.deadLetteredAt == 1_700_000_000_123_456_789)
        #expect(letter.runId == runId)
        #expect(letter.requestId == requestId)
        #expect(letter.body == body)
    }

    @Test func aBodyThatIsNotAJSONObjectHasNoRequestIdsAndIsReadLossily() {
        let letter = DeadLetter(body: [0x7B, 0xFF, 0x7D], properties: AMQPMessageProperties())
        #expect(letter.body == "{\u{FFFD}}")
        #expect(letter.runId == nil)
        #expect(letter.requestId == nil)
        #expect(letter.messageId == nil)
        #expect(letter.worker == nil)
        #expect(letter.deadLetteredAt == nil)
        #expect(letter.reason == "unknown")
        #expect(DeadLetter(body: Array("[1,2]".utf8), properties: .init()).runId == nil)
    }

    @Test func theTableBodyIsOneLineAndCutButTheJSONBodyIsWhole() throws {
        let long = String(repeating: "a", count: 30) + "\n" + String(repeating: "b", count: 70)
        let letter = DeadLetter(reason: "not valid JSON", body: long)
        let shown = letter.displayBody(maxLength: 40)
        #expect(shown.count == 40)
        #expect(shown.hasSuffix("…"))
        #expect(!shown.contains("\n"))
        #expect(DeadLetter(reason: "r", body: "short").displayBody() == "short")

        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(letter)) as? [String: Any])
        #expect(object["body"] as? String == long)
    }

    @Test func jsonHasEveryKeyAndRunIdOnlyWhenKnown() throws {
        let broker = DeadLetter(reason: "delivery_limit", body: "{}", messageId: "m-1")
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(broker)) as? [String: Any])
        #expect(Set(object.keys) == ["reason", "messageId", "worker", "deadLetteredAt", "body"])
        #expect(object["worker"] is NSNull)
        #expect(object["reason"] as? String == "delivery_limit")

        let runId = UUID()
        let worker = DeadLetter(reason: "r", body: "{}", worker: "w", deadLetteredAt: 42, runId: runId, requestId: UUID())
        let full = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(worker)) as? [String: Any])
        #expect(Set(full.keys) == ["reason", "messageId", "worker", "deadLetteredAt", "body", "runId", "requestId"])
        #expect(full["runId"] as? String == runId.uuidString)
        #expect(full["deadLetteredAt"] as? Int == 42)
    }

    // MARK: Poison corpus

    let runId = UUID()
    var corpus: [PoisonMessage] { PoisonCorpus.messages(runId: runId) }

    @Test func everyCorpusEntryHasAUniqueNameAndMessageId() {
        let corpus = self.corpus
        #expect(corpus.count >= 12)
        #expect(Set(corpus.map(\.name)).count == corpus.count)
        #expect(Set(corpus.map(\.messageId)).count == corpus.count)
        let prefix = "poison-\(runId.uuidString.lowercased().prefix(8))-"
        #expect(corpus.allSatisfy { $0.messageId.hasPrefix(prefix) })
        #expect(corpus.allSatisfy { !$0.expectedReason.isEmpty && !$0.summary.isEmpty })
    }

    @Test func twoRunsNeverShareAMessageId() {
        let other = PoisonCorpus.messages(runId: UUID())
        #expect(Set(corpus.map(\.messageId)).isDisjoint(with: other.map(\.messageId)))
    }

    @Test func theCorpusHasTheRequiredKindsOfPoison() {
        let names = Set(corpus.map(\.name))
        for required in [
            "not-json", "string-item-id", "unknown-item", "negative-item-id", "missing-item-id", "not-utf8", "unknown-strategy",
            "zero-quantity", "json-array", "oversized", "boolean-buyer-id", "empty-body",
        ] {
            #expect(names.contains(required), "\(required)")
        }
    }

    @Test func theUnknownItemIsAValidRequestForAnItemThatDoesNotExist() throws {
        let entry = try #require(corpus.first { $0.name == "unknown-item" })
        #expect(try JSONSerialization.jsonObject(with: Data(entry.body)) is [String: Any])
        let request = try PurchaseRequest(json: entry.body)
        #expect(request.itemId == 999_999_999_999_999)
        #expect(request.validationProblem == nil)
        #expect(request.runId == runId)
        #expect(request.strategy == .pessimistic)
    }

    @Test func theOversizedEntryIsAValidRequestOverTheSizeLimit() throws {
        let entry = try #require(corpus.first { $0.name == "oversized" })
        #expect(entry.body.count == 5_000)
        #expect(entry.body.count > Topology.maxMessageBytes)
        let request = try PurchaseRequest(json: entry.body)
        #expect(request.validationProblem == nil)
        #expect(corpus.filter { $0.name != "oversized" }.allSatisfy { $0.body.count <= Topology.maxMessageBytes })
    }

    @Test func theFieldsThatAreMeantToBeRightNameTheGivenItem() throws {
        let entries = PoisonCorpus.messages(runId: runId, itemId: 7)
        let unbroken = try #require(entries.first { $0.name == "zero-quantity" })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(unbroken.body)) as? [String: Any])
        #expect(object["itemId"] as? Int == 7)
        #expect(object["buyerId"] as? Int == 1)
        #expect(object["strategy"] as? String == "pessimistic")
        #expect((object["requestId"] as? String).flatMap(UUID.init(uuidString:)) != nil)
    }

    /// Every entry the request parser can judge on its own fails there, for the reason the entry names
    /// (the item and strategy lookups and the size limit are the worker's, tested against live servers).
    @Test(arguments: PoisonCorpus.messages(runId: UUID()).filter { !["unknown-item", "oversized", "unknown-strategy"].contains($0.name) })
    func eachEntryFailsForTheReasonItNames(entry: PoisonMessage) {
        let reason: String
        do {
            let request = try PurchaseRequest(json: entry.body)
            guard let problem = request.validationProblem else {
                Issue.record("\(entry.name) is a valid request")
                return
            }
            reason = problem
        } catch {
            reason = error.reason
        }
        #expect(entry.isExplained(by: reason), "\(entry.name): \(reason)")
    }

    @Test func aReasonExplainsAnEntryOnlyWithAllItsWordsIgnoringCase() {
        let entry = PoisonMessage(name: "n", summary: "s", messageId: "m", body: [], expectedReason: ["itemId", "string"])
        #expect(entry.isExplained(by: "field ITEMID: expected an integer, got a String"))
        #expect(!entry.isExplained(by: "field itemId: must be positive, got -7"))
    }

    // MARK: Poison report

    func entry(_ name: String, deadLettered: Bool) -> PoisonReport.Entry {
        .init(name: name, messageId: "poison-\(name)", summary: name, deadLettered: deadLettered, reason: deadLettered ? "not valid JSON" : nil)
    }

    @Test func aPoisonRunPassesOnlyWithEveryMessageDeadLetteredNoOrderAndLiveWorkers() {
        let good = PoisonReport(runId: UUID(), messages: [entry("a", deadLettered: true)], ordersWritten: 0, workersAlive: true)
        #expect(good.passed)
        #expect(good.problem == nil)
        var lost = good
        lost.messages.append(entry("b", deadLettered: false))
        #expect(!lost.passed)
        #expect(lost.problem?.contains("1 of 2") == true)
        var ordered = good
        ordered.ordersWritten = 1
        #expect(ordered.problem?.contains("order") == true)
        var dead = good
        dead.workersAlive = false
        #expect(dead.problem?.contains("worker") == true)
    }

    @Test func thePoisonReportJSONHasTheDocumentedShape() throws {
        let report = PoisonReport(
            runId: UUID(),
            messages: [entry("a", deadLettered: true), entry("b", deadLettered: false)],
            ordersWritten: 0,
            workersAlive: true
        )
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        #expect(object["published"] as? Int == 2)
        #expect(object["deadLettered"] as? Int == 1)
        #expect(object["ordersWritten"] as? Int == 0)
        #expect(object["workersAlive"] as? Bool == true)
        let messages = try #require(object["messages"] as? [[String: Any]])
        #expect(messages.count == 2)
        #expect(Set(messages[0].keys) == ["name", "messageId", "deadLettered", "reason"])
        #expect(messages[0]["reason"] as? String == "not valid JSON")
        #expect(messages[1]["reason"] is NSNull)
        #expect(messages[1]["deadLettered"] as? Bool == false)
    }

    @Test func thePoisonTableShowsEachFateAndASummary() {
        let report = PoisonReport(
            runId: UUID(),
            messages: [entry("a", deadLettered: true), entry("b", deadLettered: false)],
            ordersWritten: 0,
            workersAlive: true
        )
        let table = report.table()
        #expect(table.contains("dead-lettered: not valid JSON"))
        #expect(table.contains("NOT dead-lettered (still queued / lost)"))
        #expect(table.contains("1 of 2 dead-lettered, workers alive, 0 order(s) written"))
    }
}

extension PoisonMessage: CustomTestStringConvertible {
    public var testDescription: String { name }
}
