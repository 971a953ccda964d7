import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct ChaosPlanTests {
    @Test func killWorkerDefaultsToOncePerSecond() throws {
        #expect(try ChaosPlan(parsing: "kill-worker") == ChaosPlan(fault: .killWorker, everyMilliseconds: 1000))
    }

    @Test func anIntervalMayBeGiven() throws {
        #expect(try ChaosPlan(parsing: "kill-worker:250").everyMilliseconds == 250)
    }

    @Test(arguments: [
        ("explode", "unknown chaos 'explode'"),
        ("kill-worker:", "interval"),
        ("kill-worker:abc", "interval"),
        ("kill-worker:0", "interval"),
        ("kill-worker:-5", "interval"),
    ])
    func badChaosIsRejectedNamingTheProblem(text: String, expected: String) {
        #expect {
            _ = try ChaosPlan(parsing: text)
        } throws: { error in
            String(describing: error).contains(expected)
        }
    }
}
