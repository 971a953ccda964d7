import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct ResultStoreTests {
    static let environment = RunEnvironment(
        postgresVersion: "15.18 (Debian 15.18-0+deb12u1)",
        rabbitmqVersion: "3.10.8",
        racelabVersion: RunEnvironment.racelabVersion,
        hostname: "lab",
        cpuCount: 2,
        memoryBytes: 4_000_000_000,
        operatingSystem: "Linux 6.1"
    )

    static func entry(_ strategy: StrategyName, repetition: Int, sold: Int) -> MatrixRunEntry {
        let cell = MatrixCell(strategy: strategy, buyers: 20, stock: 1, items: 1, workers: 1, consumers: 2, thinkMs: 5)
        var outcomes = OutcomeCounts()
        outcomes.purchased = sold
        outcomes.soldOut = 20 - sold
        let report = RunReport(
            strategy: strategy,
            runId: UUID(),
            configuration: StampedeConfiguration(buyers: 20, stock: 1, workers: 1, consumersPerWorker: 2, thinkMs: 5, seed: 41 + UInt64(repetition)),
            observation: RunObservation(items: [.init(itemId: 1, initialStock: 1, finalStock: 0, sold: sold, orders: sold)], duplicateRequestIds: []),
            outcomes: outcomes,
            retries: 2,
            latencyMs: LatencySummary(p50: 1.25, p90: 3.5, p99: 7.125, max: 9.3),
            durationSec: 0.0137,
            violations: sold > 1 ? ["item 1: sold \(sold) of a stock of 1 (oversold by \(sold - 1))"] : [],
            latencyCurve: [LatencyPoint(percentile: 50, milliseconds: 1.25), LatencyPoint(percentile: 99.9, milliseconds: 8.1)]
        )
        return MatrixRunEntry(cell: cell, repetition: repetition, report: report)
    }

    func temporaryStorePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("racelab-store-\(UUID().uuidString)/nested/results.sqlite").path
    }

    @Test func aMatrixRunReadsBackAsItWasRecorded() throws {
        let path = temporaryStorePath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent().path) }
        let store = try ResultStore(path: path)
        #expect(FileManager.default.fileExists(atPath: path))

        let id = try store.beginMatrixRun(name: "tiny", specText: "name: tiny\n", quick: true, environment: Self.environment, plannedRuns: 4)
        let entries = [
            Self.entry(.naive, repetition: 1, sold: 3), Self.entry(.pessimistic, repetition: 1, sold: 1),
            Self.entry(.naive, repetition: 2, sold: 2), Self.entry(.pessimistic, repetition: 2, sold: 1),
        ]
        for entry in entries { try store.record(matrixRunId: id, entry: entry) }
        let unfinished = try #require(try store.matrixRun(id: id))
        #expect(unfinished.finishedAt == nil)
        try store.finishMatrixRun(id: id)

        let record = try #require(try store.matrixRun(id: id))
        #expect(record.id == id)
        #expect(record.name == "tiny")
        #expect(record.specText == "name: tiny\n")
        #expect(record.quick)
        #expect(record.environment == Self.environment)
        #expect(record.entries == entries)
        let finishedAt = try #require(record.finishedAt)
        #expect(finishedAt >= record.startedAt)
        #expect(abs(record.startedAt.timeIntervalSinceNow) < 60)

        // A second store on the same file sees the same (the schema is not created twice).
        let again = try ResultStore(path: path)
        #expect(try again.matrixRun(id: id) == record)
        #expect(try again.matrixRun(id: id + 1) == nil)
    }

    @Test func matrixRunsListsEachRunWithItsCounts() throws {
        let path = temporaryStorePath()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent().path) }
        let store = try ResultStore(path: path)
        let first = try store.beginMatrixRun(name: "a", specText: "", quick: false, environment: Self.environment, plannedRuns: 2)
        try store.record(matrixRunId: first, entry: Self.entry(.naive, repetition: 1, sold: 2))
        try store.record(matrixRunId: first, entry: Self.entry(.advisory, repetition: 1, sold: 1))
        try store.finishMatrixRun(id: first)
        let second = try store.beginMatrixRun(name: "b", specText: "", quick: true, environment: Self.environment, plannedRuns: 3)
        try store.record(matrixRunId: second, entry: Self.entry(.optimistic, repetition: 1, sold: 1))

        let runs = try store.matrixRuns()
        #expect(runs.map(\.id) == [first, second])
        #expect(runs.map(\.name) == ["a", "b"])
        #expect(runs.map(\.quick) == [false, true])
        #expect(runs.map(\.runs) == [2, 1])
        #expect(runs.map(\.plannedRuns) == [2, 3])
        #expect(runs[0].durationSeconds != nil)
        #expect(runs[1].finishedAt == nil)
        #expect(runs[0].environmentShort == "PostgreSQL 15.18 (Debian 15.18-0+deb12u1), RabbitMQ 3.10.8")
    }

    @Test func aStoreThatCannotBeCreatedIsNamed() {
        #expect {
            try ResultStore(path: "/proc/racelab/results.sqlite")
        } throws: { error in
            "\(error)".contains("/proc/racelab/results.sqlite")
        }
    }
}
