import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct StampedePlanTests {
    @Test func theSameSeedGivesTheSameBuyerOrder() {
        let a = StampedePlan(buyers: 500, items: 3, seed: 7)
        let b = StampedePlan(buyers: 500, items: 3, seed: 7)
        #expect(a == b)
    }

    @Test func aDifferentSeedGivesADifferentOrder() {
        #expect(StampedePlan(buyers: 500, items: 3, seed: 7) != StampedePlan(buyers: 500, items: 3, seed: 8))
    }

    @Test func everyBuyerAppearsExactlyOnce() {
        let plan = StampedePlan(buyers: 1000, items: 4, seed: 1)
        #expect(Set(plan.buyers.map(\.buyerId)) == Set((1...1000).map(Int64.init)))
    }

    @Test func buyersAreSpreadEvenlyOverTheItems() {
        let plan = StampedePlan(buyers: 3000, items: 3, seed: 99)
        #expect(plan.buyersPerItem == [1: 1000, 2: 1000, 3: 1000])
        let uneven = StampedePlan(buyers: 10, items: 3, seed: 99)
        #expect(uneven.buyersPerItem == [1: 4, 2: 3, 3: 3])
    }

    @Test func theOrderIsShuffled() {
        let plan = StampedePlan(buyers: 100, items: 1, seed: 3)
        #expect(plan.buyers.map(\.buyerId) != (1...100).map(Int64.init))
    }

    @Test(arguments: [
        (StampedeConfiguration(buyers: 0, stock: 1), "--buyers"),
        (StampedeConfiguration(buyers: -5, stock: 1), "--buyers"),
        (StampedeConfiguration(buyers: 10, stock: -1), "--stock"),
        (StampedeConfiguration(buyers: 10, stock: 1, items: 0), "--items"),
        (StampedeConfiguration(buyers: 10, stock: 1, workers: -1), "--workers"),
        (StampedeConfiguration(buyers: 10, stock: 1, consumersPerWorker: 0), "--consumers"),
        (StampedeConfiguration(buyers: 10, stock: 1, thinkMs: -3), "--think-ms"),
    ])
    func badConfigurationsNameTheOption(configuration: StampedeConfiguration, option: String) {
        #expect(configuration.problem?.hasPrefix(option) == true)
    }

    @Test func aSensibleConfigurationHasNoProblem() {
        #expect(StampedeConfiguration(buyers: 200, stock: 1, thinkMs: 5).problem == nil)
    }
}
