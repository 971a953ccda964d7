import Foundation
import Hummingbird
import HummingbirdTesting
import RaceLabCore
import RaceLabPipeline
import Testing

@testable import RaceLabServer

extension LiveServerLab {
    /// `POST /purchases` with a `requestId` the server knows, against the real pipeline: an idempotency key.
    ///
    /// Items 9300… are this suite's own.
    @Suite struct PurchaseReplayTests {
        @Test func rePostingARequestIdAnswersTheSamePurchaseAndBuysOnce() async throws {
            let id = UUID().uuidString.lowercased()
            let (first, again, settled, replay, item) = try await withLiveAPI { client in
                _ = try await client.send(.post, "/items/9300/reset", body: #"{"stock": 5}"#)
                let body = #"{"itemId": 9300, "buyerId": 1, "requestId": "\#(id)"}"#
                let first = try await client.send(.post, "/purchases", body: body)
                let again = try await client.send(.post, "/purchases", body: #"{"requestId": "\#(id)", "buyerId": 1, "itemId": 9300, "quantity": 1}"#)
                let settled = try await client.settledStatus(of: id)
                let replay = try await client.send(.post, "/purchases", body: body)
                let item = try await client.send(.get, "/items/9300").json
                return (
                    (first.status.code, try first.json.mapValues { "\($0)" }),
                    (again.status.code, try again.json.mapValues { "\($0)" }),
                    settled.mapValues { "\($0)" },
                    (replay.status.code, try replay.json.mapValues { "\($0)" }, replay.headers[.location]),
                    item.mapValues { "\($0)" }
                )
            }
            #expect(first.0 == 202 && again.0 == 202 && replay.0 == 202)
            #expect(first.1["requestId"] == id && again.1["requestId"] == id && replay.1["requestId"] == id)
            #expect(again.1["runId"] == first.1["runId"])
            #expect(settled["status"] == "purchased")
            #expect(replay.1["status"] == "purchased")  // the answer it really had, not a second attempt's
            #expect(replay.2 == "/purchases/\(id)")
            #expect(item["orders"] == "1")
            #expect(item["stock"] == "4")
        }

        @Test(arguments: [
            (#""itemId": 9302, "buyerId": 1"#, "itemId"),
            (#""itemId": 9301, "buyerId": 2"#, "buyerId"),
            (#""itemId": 9301, "buyerId": 1, "quantity": 2"#, "quantity"),
            (#""itemId": 9301, "buyerId": 1, "strategy": "naive""#, "strategy"),
            (#""itemId": 9301, "buyerId": 1, "isolation": "serializable""#, "isolation"),
        ])
        func aRequestIdReusedForAnotherPurchaseIs422(other: String, field: String) async throws {
            let id = UUID().uuidString.lowercased()
            let (first, problem, kept) = try await withLiveAPI(consumers: 0) { client in
                let first = try await client.send(.post, "/purchases", body: #"{"itemId": 9301, "buyerId": 1, "requestId": "\#(id)"}"#)
                let second = try await client.send(.post, "/purchases", body: #"{\#(other), "requestId": "\#(id)"}"#)
                let kept = try await client.send(.get, "/purchases/\(id)").json
                return (first.status.code, try second.json.mapValues { "\($0)" }, kept.mapValues { "\($0)" })
            }
            #expect(first == 202)
            #expect(problem["status"] == "422")
            #expect(problem["field"] == "requestId")
            #expect(problem["detail"]?.contains(field) == true, "\(problem)")
            #expect(kept["itemId"] == "9301" && kept["buyerId"] == "1" && kept["quantity"] == "1")  // the first purchase stands
        }
    }
}

/// The ledger's bookkeeping, with the clock as a parameter: no servers, no waiting.
@Suite struct PurchaseLedgerTests {
    private let run = UUID()

    private func purchase(_ id: UUID = UUID(), runId: UUID? = nil, itemId: Int64 = 1) -> PurchaseRequest {
        PurchaseRequest(requestId: id, runId: runId ?? run, itemId: itemId, buyerId: 1, strategy: .pessimistic)
    }

    private func outcome(of request: PurchaseRequest, _ outcome: PurchaseOutcome = .purchased) -> OutcomeMessage {
        OutcomeMessage(
            requestId: request.requestId,
            runId: request.runId,
            itemId: request.itemId,
            strategy: request.strategy,
            outcome: outcome,
            retries: 0,
            worker: "test",
            finishedAt: 1
        )
    }

    @Test func anUnconfirmedPurchaseIsUnknownAndItsReplayPublishesItAgain() {
        let ledger = PurchaseLedger(ownRun: run)
        let request = purchase()
        guard case .publish(nil) = ledger.claim(request) else {
            Issue.record("a new request is published")
            return
        }
        ledger.recordUnconfirmed(request.requestId)
        #expect(ledger.entry(request.requestId)?.status == .unconfirmed)
        #expect(ledger.entry(request.requestId)?.status.name == "unknown")
        #expect(ledger.snapshot().unknown == 1)
        guard case .publish(.unconfirmed?) = ledger.claim(request) else {
            Issue.record("an unknown request is published again")
            return
        }
        guard case .publishing = ledger.claim(request) else {
            Issue.record("a replay while publishing waits")
            return
        }
        #expect(ledger.recordConfirmed(request.requestId) == .pending)
        #expect(ledger.snapshot().pending == 1 && ledger.snapshot().unknown == 0)
    }

    @Test func nothingSentIsForgottenOrRestored() {
        let ledger = PurchaseLedger(ownRun: run)
        let request = purchase()
        _ = ledger.claim(request)
        ledger.recordNotSent(request.requestId, restoring: nil)
        #expect(ledger.entry(request.requestId) == nil)
        _ = ledger.claim(request)
        ledger.recordUnconfirmed(request.requestId)
        guard case .publish(let previous) = ledger.claim(request) else {
            Issue.record("published again")
            return
        }
        ledger.recordNotSent(request.requestId, restoring: previous)
        #expect(ledger.entry(request.requestId)?.status == .unconfirmed)
    }

    @Test func aPendingPurchasePastTheDeadlineIsUnknownUntilALateOutcomeSettlesIt() {
        let start = ContinuousClock.now
        let ledger = PurchaseLedger(ownRun: run, pendingDeadline: .seconds(600))
        let request = purchase()
        _ = ledger.claim(request, now: start)
        ledger.recordConfirmed(request.requestId, now: start)
        #expect(ledger.entry(request.requestId, now: start + .seconds(599))?.status == .pending)
        #expect(ledger.entry(request.requestId, now: start + .seconds(600))?.status == .expired)
        #expect(ledger.snapshot(now: start + .seconds(601)).pending == 0)
        #expect(ledger.snapshot(now: start + .seconds(601)).unknown == 1)
        #expect(ledger.recordOutcome(outcome(of: request)))
        #expect(ledger.entry(request.requestId, now: start + .seconds(602))?.status.name == "purchased")
        #expect(ledger.snapshot(now: start + .seconds(602)).unknown == 0)
        #expect(!ledger.recordOutcome(outcome(of: request, .soldOut)))  // the first outcome stands
    }

    @Test func anotherRunsPurchaseIsForwardedAndNeverExpires() {
        let start = ContinuousClock.now
        let ledger = PurchaseLedger(ownRun: run, pendingDeadline: .seconds(1))
        let request = purchase(runId: UUID())
        _ = ledger.claim(request, now: start)
        #expect(ledger.recordConfirmed(request.requestId, now: start) == .forwarded)
        #expect(ledger.entry(request.requestId, now: start + .seconds(3600))?.status == .forwarded)
        #expect(ledger.snapshot(now: start + .seconds(3600)).pending == 0)
    }

    @Test func harnessPurchasesAreCountedApartFromTheServersOwn() {
        let ledger = PurchaseLedger(ownRun: run)
        let (harness, other) = (UUID(), UUID())
        let own = purchase()
        let forwarded = [purchase(runId: harness), purchase(runId: harness), purchase(runId: other)]
        let notConfirmed = purchase(runId: harness)
        for request in [own] + forwarded + [notConfirmed] { _ = ledger.claim(request) }
        let publishing = ledger.snapshot()
        #expect(publishing.pending == 1)  // only the server's own; the harness's are being published for it
        #expect(publishing.harness == .init(runs: 2, forwarded: 0, publishing: 4, unconfirmed: 0))
        for request in [own] + forwarded { ledger.recordConfirmed(request.requestId) }
        ledger.recordUnconfirmed(notConfirmed.requestId)
        let confirmed = ledger.snapshot()
        #expect(confirmed.pending == 1 && confirmed.unknown == 0)
        #expect(confirmed.metrics.accepted == 1)
        #expect(confirmed.harness == .init(runs: 2, forwarded: 3, publishing: 0, unconfirmed: 1))
        #expect(confirmed.exposition(queueDepth: nil).contains("racelab_purchases_forwarded_total 3\n"))
    }

    @Test func theLedgerKeepsTheNewestPurchasesUpToItsCapacity() {
        let ledger = PurchaseLedger(ownRun: run, capacity: 3)
        let requests = (0..<5).map { _ in purchase() }
        for request in requests {
            _ = ledger.claim(request)
            ledger.recordConfirmed(request.requestId)
        }
        #expect(requests.map { ledger.entry($0.requestId) != nil } == [false, false, true, true, true])
        #expect(ledger.snapshot().pending == 3)
    }

    @Test func aStampedeRunsUntilItsPurchasesSettleOrExpire() {
        let start = ContinuousClock.now
        let ledger = PurchaseLedger(ownRun: run, pendingDeadline: .seconds(600))
        let first = (0..<2).map { _ in purchase() }
        #expect(ledger.beginStampede(first, now: start) == nil)
        for request in first { ledger.recordConfirmed(request.requestId, now: start) }
        #expect(ledger.beginStampede([purchase()], now: start) == 2)
        ledger.recordOutcome(outcome(of: first[0]))
        #expect(ledger.beginStampede([purchase()], now: start) == 1)
        #expect(ledger.beginStampede([purchase()], now: start + .seconds(600)) == nil)  // the rest expired
    }

    @Test func eventFeedsAreBounded() {
        let ledger = PurchaseLedger(ownRun: run, maxSubscribers: 2)
        let feeds = [ledger.subscribe(), ledger.subscribe(), ledger.subscribe()]
        #expect(feeds.map { $0 != nil } == [true, true, false])
        ledger.close()
    }
}
