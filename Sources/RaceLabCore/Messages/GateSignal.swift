import Foundation

/// A control message on the `racelab.control` fanout: opens the gate of one run, so every worker
/// starts on its held requests in the same instant.
public struct GateSignal: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Start processing the run's requests now.
        case open
    }

    public var kind: Kind
    public var runId: UUID
    /// When the harness opened the gate, nanoseconds since the Unix epoch.
    public var at: UInt64

    public init(kind: Kind = .open, runId: UUID, at: UInt64) {
        self.kind = kind
        self.runId = runId
        self.at = at
    }
}
