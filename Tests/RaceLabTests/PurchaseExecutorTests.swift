import Postgres
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct PurchaseExecutorTests {
    @Test(arguments: [
        ("40001", PurchaseExecutor.FailureClass.aborted),
        ("40P01", .aborted),
        ("55P03", .lockNotAvailable),
        ("23505", .alreadyPurchased),
        ("42P01", .failed),
        ("57P01", .connectionLost),
        ("08006", .connectionLost),
    ])
    func sqlStatesAreClassified(sqlState: String, expected: PurchaseExecutor.FailureClass) {
        #expect(PurchaseExecutor.classify(PostgresError(kind: .server, sqlState: sqlState, message: "x")) == expected)
    }

    @Test func aLostConnectionIsNotAnOutcome() {
        #expect(PurchaseExecutor.classify(PostgresError(kind: .connectionLost, message: "gone")) == .connectionLost)
    }

    @Test func backoffStaysWithinItsCeiling() {
        let policy = PurchaseExecutor.RetryPolicy(maxAttempts: 5, baseBackoffMicroseconds: 100, maxBackoffMicroseconds: 1000)
        for attempt in 0..<30 {
            let wait = policy.backoff(afterAttempt: attempt)
            #expect(wait >= 0 && wait <= min(1000, 100 << min(attempt, 20)))
        }
    }
}
