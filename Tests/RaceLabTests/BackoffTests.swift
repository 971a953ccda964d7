import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct BackoffTests {
    @Test func waitsDoubleUpToTheCeilingAndStartOverAfterAReset() {
        var backoff = Backoff(initial: 0.2, ceiling: 1)
        #expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()] == [0.2, 0.4, 0.8, 1, 1])
        backoff.reset()
        #expect(backoff.next() == 0.2)
    }

    @Test func aCeilingBelowTheFirstWaitIsTheFirstWait() {
        var backoff = Backoff(initial: 2, ceiling: 1)
        #expect([backoff.next(), backoff.next()] == [2, 2])
    }
}
