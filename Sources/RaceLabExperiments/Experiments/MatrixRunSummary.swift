import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// One line of `racelab runs`: a stored matrix run without its stampedes.
public struct MatrixRunSummary: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    public var quick: Bool
    public var startedAt: Date
    /// Nil while the run goes on, or when it was killed before it finished.
    public var finishedAt: Date?
    /// Stampedes stored.
    public var runs: Int
    /// Stampedes the plan had (more than `runs` for an interrupted matrix run).
    public var plannedRuns: Int
    public var environment: RunEnvironment

    public init(
        id: Int64,
        name: String,
        quick: Bool,
        startedAt: Date,
        finishedAt: Date?,
        runs: Int,
        plannedRuns: Int,
        environment: RunEnvironment
    ) {
        self.id = id
        self.name = name
        self.quick = quick
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.runs = runs
        self.plannedRuns = plannedRuns
        self.environment = environment
    }

    /// Seconds from start to finish; nil when it never finished.
    public var durationSeconds: Double? { finishedAt.map { $0.timeIntervalSince(startedAt) } }

    /// `PostgreSQL 15.18, RabbitMQ 3.10.8`.
    public var environmentShort: String {
        "PostgreSQL \(environment.postgresVersion), RabbitMQ \(environment.rabbitmqVersion)"
    }
}
