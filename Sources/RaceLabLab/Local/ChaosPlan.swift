import RaceLabCore
import RaceLabPipeline

/// Faults the harness injects during a stampede: `--chaos kill-worker[:every-ms]`.
public struct ChaosPlan: Sendable, Equatable {
    public enum Fault: String, Sendable, CaseIterable {
        /// SIGKILL a random local worker; a new one is started in its place.
        case killWorker = "kill-worker"
    }

    public var fault: Fault
    /// Milliseconds between two faults.
    public var everyMilliseconds: Int

    public static let defaultInterval = 1000

    public init(fault: Fault, everyMilliseconds: Int = ChaosPlan.defaultInterval) {
        self.fault = fault
        self.everyMilliseconds = everyMilliseconds
    }

    /// Parses `kill-worker` or `kill-worker:500`; the error names what is wrong.
    public init(parsing text: String) throws(HarnessError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let fault = Fault(rawValue: parts[0]) else {
            throw HarnessError(message: "unknown chaos '\(parts[0])' (known: \(Fault.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var every = Self.defaultInterval
        if parts.count == 2 {
            guard let value = Int(parts[1]), (50...3_600_000).contains(value) else {
                throw HarnessError(message: "chaos interval must be milliseconds in 50...3600000 (got '\(parts[1])')")
            }
            every = value
        }
        self.init(fault: fault, everyMilliseconds: every)
    }
}
