import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// The consumer's decisions with no sockets: events in, actions out.
@Suite struct ConsumerStateMachineTests {
    typealias Machine = ConsumerStateMachine
    typealias Delivery = ConsumerStateMachine.Delivery

    let run = UUID()
    let otherRun = UUID()

    func request(_ buyer: Int64, run: UUID? = nil, item: Int64 = 1, strategy: StrategyName = .pessimistic, gated: Bool = false) -> PurchaseRequest {
        PurchaseRequest(runId: run ?? self.run, itemId: item, buyerId: buyer, strategy: strategy, gated: gated)
    }

    func outcome(_ request: PurchaseRequest, _ outcome: PurchaseOutcome = .purchased) -> OutcomeMessage {
        OutcomeMessage(
            requestId: request.requestId,
            runId: request.runId,
            itemId: request.itemId,
            strategy: request.strategy,
            outcome: outcome,
            retries: 0,
            worker: "w/1",
            finishedAt: 1,
            error: outcome == .deadLettered ? "item 1 does not exist" : nil
        )
    }

    /// Settles every `.settle` action at once, as the thread would, and returns the rest.
    func settleAll(_ actions: [Machine.Action], in machine: inout Machine) -> [Machine.Action] {
        var rest: [Machine.Action] = []
        for action in actions {
            if case .settle(let delivery, let request) = action {
                rest += machine.settled(delivery, request, outcome: outcome(request))
            } else {
                rest.append(action)
            }
        }
        return rest
    }

    @Test func anUngatedRequestIsSettledAtOnceAndAckedOnlyAtTheFlushAfterItsOutcome() {
        var machine = Machine(batchSize: 16, gateTimeoutSeconds: 120)
        let first = request(1)
        let actions = machine.received(Delivery(tag: 1), first, batches: false, now: 0)
        #expect(actions == [.settle(Delivery(tag: 1), first)])
        #expect(settleAll(actions, in: &machine).isEmpty)
        #expect(machine.hasUnsent)
        #expect(machine.settleWaitingBatches().isEmpty)
        #expect(machine.publishSettled() == [.publish(runId: run, [outcome(first)]), .ack(1, multiple: true)])
        #expect(!machine.hasUnsent)
        #expect(machine.publishSettled().isEmpty)
    }

    @Test func gatedRequestsWaitForTheirRunsGateAndGoInArrivalOrder() {
        var machine = Machine(batchSize: 16, gateTimeoutSeconds: 120)
        let a = request(1, gated: true)
        let b = request(2, run: otherRun, gated: true)
        let c = request(3, gated: true)
        #expect(machine.received(Delivery(tag: 1), a, batches: false, now: 0).isEmpty)
        #expect(machine.received(Delivery(tag: 2), b, batches: false, now: 0).isEmpty)
        #expect(machine.received(Delivery(tag: 3), c, batches: false, now: 0).isEmpty)
        #expect(machine.heldCount == 3)
        #expect(machine.gateOpened(runId: run) == [.settle(Delivery(tag: 1), a), .settle(Delivery(tag: 3), c)])
        #expect(machine.heldCount == 1)
        // The harness repeats its signal: nothing is released twice, and later requests of the run go straight on.
        #expect(machine.gateOpened(runId: run).isEmpty)
        let d = request(4, gated: true)
        #expect(machine.received(Delivery(tag: 4), d, batches: false, now: 0) == [.settle(Delivery(tag: 4), d)])
    }

    @Test func anAckMultipleNeverReachesARequestStillHeld() {
        var machine = Machine(batchSize: 16, gateTimeoutSeconds: 120)
        let held = request(1, run: otherRun, gated: true)
        let a = request(2)
        let b = request(3)
        _ = machine.received(Delivery(tag: 1), held, batches: false, now: 0)
        _ = settleAll(machine.received(Delivery(tag: 2), a, batches: false, now: 0), in: &machine)
        _ = settleAll(machine.received(Delivery(tag: 3), b, batches: false, now: 0), in: &machine)
        // Tag 1 is below the settled ones: acking 3 with `multiple` would ack it too, so each goes alone.
        #expect(machine.publishSettled() == [.publish(runId: run, [outcome(a), outcome(b)]), .ack(2, multiple: false), .ack(3, multiple: false)])
        // Once the held one is settled, one multiple ack covers the next batch again.
        _ = settleAll(machine.gateOpened(runId: otherRun), in: &machine)
        #expect(machine.publishSettled() == [.publish(runId: otherRun, [outcome(held)]), .ack(1, multiple: true)])
    }

    @Test func outcomesOfOneRunSettledBackToBackShareOneMessage() {
        var machine = Machine(batchSize: 16, gateTimeoutSeconds: 120)
        let a = request(1)
        let b = request(2)
        let c = request(3, run: otherRun)
        let d = request(4)
        for (tag, request) in [(1, a), (2, b), (3, c), (4, d)] {
            _ = settleAll(machine.received(Delivery(tag: UInt64(tag)), request, batches: false, now: 0), in: &machine)
        }
        #expect(
            machine.publishSettled() == [
                .publish(runId: run, [outcome(a), outcome(b)]), .publish(runId: otherRun, [outcome(c)]), .publish(runId: run, [outcome(d)]),
                .ack(4, multiple: true),
            ]
        )
    }

    @Test func theMachineIsFullWhenABatchOfOutcomesWaits() {
        var machine = Machine(batchSize: 2, gateTimeoutSeconds: 120)
        _ = settleAll(machine.received(Delivery(tag: 1), request(1), batches: false, now: 0), in: &machine)
        #expect(!machine.isFull)
        _ = settleAll(machine.received(Delivery(tag: 2), request(2), batches: false, now: 0), in: &machine)
        #expect(machine.isFull)
    }

    @Test func aBatchingStrategysRequestsGatherByItemAndGoWhenFullOrAtTheFlush() {
        var machine = Machine(batchSize: 3, gateTimeoutSeconds: 120)
        let a = request(1, item: 1, strategy: .batched)
        let b = request(2, item: 2, strategy: .batched)
        let c = request(3, item: 1, strategy: .batched)
        let d = request(4, item: 1, strategy: .batched)
        #expect(machine.received(Delivery(tag: 1), a, batches: true, now: 0).isEmpty)
        #expect(machine.received(Delivery(tag: 2), b, batches: true, now: 0).isEmpty)
        #expect(machine.received(Delivery(tag: 3), c, batches: true, now: 0).isEmpty)
        #expect(machine.hasUnsent)
        // Item 1's batch is full with the third request.
        #expect(
            machine.received(Delivery(tag: 4), d, batches: true, now: 0) == [
                .settleBatch([Delivery(tag: 1), Delivery(tag: 3), Delivery(tag: 4)], [a, c, d])
            ]
        )
        // Item 2 waits for the flush, which settles it before anything is published.
        #expect(machine.settleWaitingBatches() == [.settleBatch([Delivery(tag: 2)], [b])])
        #expect(machine.settleWaitingBatches().isEmpty)
    }

    @Test func requestsAtAnotherIsolationLevelAreNotBatchedTogether() {
        var machine = Machine(batchSize: 2, gateTimeoutSeconds: 120)
        var a = request(1, strategy: .batched)
        var b = request(2, strategy: .batched)
        a.isolation = .serializable
        b.isolation = .readCommitted
        #expect(machine.received(Delivery(tag: 1), a, batches: true, now: 0).isEmpty)
        #expect(machine.received(Delivery(tag: 2), b, batches: true, now: 0).isEmpty)
        #expect(machine.settleWaitingBatches().count == 2)
    }

    @Test func aBatchSizeOfOneSettlesBatchingStrategiesAlone() {
        var machine = Machine(batchSize: 1, gateTimeoutSeconds: 120)
        let a = request(1, strategy: .batched)
        #expect(machine.received(Delivery(tag: 1), a, batches: true, now: 0) == [.settle(Delivery(tag: 1), a)])
    }

    @Test func aRejectedRequestIsDeadLetteredAndStopsBlockingMultipleAcks() {
        var machine = Machine(batchSize: 16, gateTimeoutSeconds: 120)
        let bad = machine.rejected(Delivery(tag: 1), reason: "not valid JSON", request: nil)
        #expect(bad == [.deadLetter(Delivery(tag: 1), reason: "not valid JSON", request: nil)])
        let a = request(2)
        _ = settleAll(machine.received(Delivery(tag: 2), a, batches: false, now: 0), in: &machine)
        // Until the thread reports the dead letter done, tag 1 is unsettled: no multiple ack over it.
        #expect(machine.publishSettled().last == .ack(2, multiple: false))
        machine.deadLettered(Delivery(tag: 1))
        let b = request(3)
        _ = settleAll(machine.received(Delivery(tag: 3), b, batches: false, now: 0), in: &machine)
        #expect(machine.publishSettled().last == .ack(3, multiple: true))
    }

    @Test func aSettlementThatFindsNoItemBecomesADeadLetter() {
        var machine = Machine(batchSize: 16, gateTimeoutSeconds: 120)
        let a = request(1)
        _ = machine.received(Delivery(tag: 1), a, batches: false, now: 0)
        let actions = machine.settled(Delivery(tag: 1), a, outcome: outcome(a, .deadLettered))
        #expect(actions == [.deadLetter(Delivery(tag: 1), reason: "item 1 does not exist", request: a)])
        #expect(machine.publishSettled().isEmpty)
    }

    @Test func aGateThatNeverOpensReleasesItsRequestsAfterTheTimeout() {
        var machine = Machine(batchSize: 16, gateTimeoutSeconds: 2)
        let a = request(1, gated: true)
        let b = request(2, gated: true)
        _ = machine.received(Delivery(tag: 1), a, batches: false, now: 1_000_000_000)
        _ = machine.received(Delivery(tag: 2), b, batches: false, now: 2_500_000_000)
        #expect(machine.tick(now: 2_900_000_000).isEmpty)
        #expect(machine.tick(now: 3_100_000_000) == [.settle(Delivery(tag: 1), a)])
        #expect(machine.tick(now: 4_600_000_000) == [.settle(Delivery(tag: 2), b)])
        #expect(machine.heldCount == 0)
    }

    @Test func heldBatchingRequestsJoinTheirBatchWhenTheGateOpens() {
        var machine = Machine(batchSize: 2, gateTimeoutSeconds: 120)
        let a = request(1, strategy: .batched, gated: true)
        let b = request(2, strategy: .batched, gated: true)
        _ = machine.received(Delivery(tag: 1), a, batches: true, now: 0)
        _ = machine.received(Delivery(tag: 2), b, batches: true, now: 0)
        #expect(machine.gateOpened(runId: run) == [.settleBatch([Delivery(tag: 1), Delivery(tag: 2)], [a, b])])
    }
}
