import Foundation
import LabTestSupport
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// Stampedes through the real pipeline: harness → RabbitMQ → worker threads → PostgreSQL.
/// Serialized: every stampede resets the same items table.
extension LiveLab {
    @Suite struct PipelineTests {
        @Test func naiveStrategyOversellsUnderContention() async throws {
            let reports = try await stampede([.naive], StampedeConfiguration(buyers: 200, stock: 1, workers: 2, consumersPerWorker: 4, thinkMs: 5))
            let report = try #require(reports.first)
            #expect(report.sold > 1)
            #expect(report.oversold == report.sold - 1)
            #expect(report.violations.contains { $0.contains("oversold") })
            #expect(report.outcomes.total == 200)
            #expect(report.outcomes.indeterminate == 0)
            #expect(report.outcomes.purchased == report.sold)
        }

        @Test(arguments: [StrategyName.pessimistic, .optimistic, .advisory, .batched, .atomic, .nowait, .skipLocked, .serialized])
        func lockedStrategySellsExactlyTheLastItem(strategy: StrategyName) async throws {
            let reports = try await stampede([strategy], StampedeConfiguration(buyers: 200, stock: 1, workers: 2, consumersPerWorker: 4, thinkMs: 5))
            let report = try #require(reports.first)
            #expect(report.sold == 1)
            #expect(report.outcomes.purchased == 1)
            #expect(report.outcomes.soldOut == 199)
            #expect(report.finalStock == 0)
            #expect(report.violations == [])
        }

        @Test func lockedStrategiesSellEveryUnitOfSeveralItemsExactly() async throws {
            let configuration = StampedeConfiguration(buyers: 600, stock: 40, items: 3, workers: 2, consumersPerWorker: 4)
            let reports = try await stampede(
                [.pessimistic, .optimistic, .advisory, .batched, .atomic, .nowait, .skipLocked, .serialized],
                configuration
            )
            for report in reports {
                #expect(report.sold == 120, "\(report.strategy)")
                #expect(report.perItem.map(\.sold) == [40, 40, 40], "\(report.strategy)")
                #expect(report.outcomes.total == 600, "\(report.strategy)")
                #expect(report.outcomes.purchased + report.outcomes.soldOut + report.outcomes.gaveUp == 600, "\(report.strategy)")
                #expect(report.violations == [], "\(report.strategy)")
            }
        }

        @Test func aStampedeWithMoreStockThanBuyersSellsToEveryBuyer() async throws {
            let reports = try await stampede([.pessimistic], StampedeConfiguration(buyers: 300, stock: 1000, workers: 1, consumersPerWorker: 4))
            let report = try #require(reports.first)
            #expect(report.sold == 300)
            #expect(report.finalStock == 700)
            #expect(report.outcomes.soldOut == 0)
            #expect(report.latencyMs.max >= report.latencyMs.p50)
            #expect(report.throughputPerSec > 0)
        }

        @Test func aStampedeWithoutWorkersFailsFastNamingTheQueue() async throws {
            try await onThread {
                let runner = try StampedeRunner(
                    postgresURL: LabEnvironment.servers.postgresURL,
                    amqpURL: LabEnvironment.servers.amqpURL,
                    logger: LabEnvironment.logger
                )
                #expect {
                    try runner.waitForConsumers(atLeast: 10_000, timeoutSeconds: 0.2)
                } throws: { error in
                    String(describing: error).contains("came up")
                }
            }
        }
    }
}
