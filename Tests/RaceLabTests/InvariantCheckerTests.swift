import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct InvariantCheckerTests {
    let checker = InvariantChecker()

    func counts(purchased: Int, soldOut: Int, indeterminate: Int = 0) -> OutcomeCounts {
        var counts = OutcomeCounts()
        counts.purchased = purchased
        counts.soldOut = soldOut
        counts.indeterminate = indeterminate
        return counts
    }

    @Test func anExactRunBreaksNothing() {
        let observation = RunObservation(items: [.init(itemId: 1, initialStock: 1, finalStock: 0, sold: 1, orders: 1)], duplicateRequestIds: [])
        #expect(
            checker.violations(observation: observation, published: 200, outcomes: counts(purchased: 1, soldOut: 199), purchasedOutcomes: 1).isEmpty
        )
    }

    @Test func anOversellIsReportedWithItsSize() {
        let observation = RunObservation(items: [.init(itemId: 1, initialStock: 1, finalStock: 0, sold: 5, orders: 5)], duplicateRequestIds: [])
        let violations = checker.violations(
            observation: observation,
            published: 200,
            outcomes: counts(purchased: 5, soldOut: 195),
            purchasedOutcomes: 5
        )
        #expect(violations.contains { $0.contains("oversold by 4") })
        #expect(violations.contains { $0.contains("lost update") })
    }

    @Test func negativeStockIsReported() {
        let observation = RunObservation(items: [.init(itemId: 2, initialStock: 1, finalStock: -1, sold: 2, orders: 2)], duplicateRequestIds: [])
        let violations = checker.violations(observation: observation, published: 2, outcomes: counts(purchased: 2, soldOut: 0), purchasedOutcomes: 2)
        #expect(violations.contains { $0.contains("negative") })
    }

    @Test func missingOutcomesAreReportedAsLost() {
        let observation = RunObservation(items: [.init(itemId: 1, initialStock: 10, finalStock: 0, sold: 10, orders: 10)], duplicateRequestIds: [])
        let violations = checker.violations(
            observation: observation,
            published: 100,
            outcomes: counts(purchased: 10, soldOut: 80, indeterminate: 10),
            purchasedOutcomes: 10
        )
        #expect(violations.contains { $0.contains("10 of 100 requests have no outcome") })
    }

    @Test func doublePurchasesAreReported() {
        let observation = RunObservation(
            items: [.init(itemId: 1, initialStock: 10, finalStock: 8, sold: 2, orders: 2)],
            duplicateRequestIds: [UUID()]
        )
        let violations = checker.violations(observation: observation, published: 2, outcomes: counts(purchased: 2, soldOut: 0), purchasedOutcomes: 2)
        #expect(violations.contains { $0.contains("more than one order") })
    }

    @Test func ordersThatNoOutcomeAdmitAreReported() {
        let observation = RunObservation(items: [.init(itemId: 1, initialStock: 10, finalStock: 7, sold: 3, orders: 3)], duplicateRequestIds: [])
        let violations = checker.violations(observation: observation, published: 5, outcomes: counts(purchased: 2, soldOut: 3), purchasedOutcomes: 2)
        #expect(violations == ["3 orders in the database but 2 purchased outcomes"])
    }
}
