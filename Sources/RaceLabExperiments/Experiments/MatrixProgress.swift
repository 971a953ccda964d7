import Foundation
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// How far a matrix run is: runs done of the total, elapsed time, and an ETA from the mean time per
/// run so far (worker start-up included, since the remaining runs pay it too).
public struct MatrixProgress: Sendable {
    public let total: Int
    public let startedAt: Date
    public private(set) var completed = 0

    public init(total: Int, startedAt: Date = Date()) {
        self.total = total
        self.startedAt = startedAt
    }

    /// Counts one more run as done.
    public mutating func runFinished() { completed += 1 }

    /// Seconds left at the mean pace so far; nil before the first run finished.
    public func etaSeconds(now: Date = Date()) -> Double? {
        guard completed > 0 else { return nil }
        return now.timeIntervalSince(startedAt) / Double(completed) * Double(max(total - completed, 0))
    }

    /// `run 3/24 · naive b=200 s=1 i=1 w=4 c=2 t=5 rep 1 · 0:12 elapsed · ETA 1:30`, for run `index` (0-based).
    public func line(running index: Int, label: String, now: Date = Date()) -> String {
        let eta = etaSeconds(now: now).map { "ETA \(Self.clock($0))" } ?? "ETA …"
        return "run \(index + 1)/\(total) · \(label) · \(Self.clock(now.timeIntervalSince(startedAt))) elapsed · \(eta)"
    }

    /// `0:07`, `1:05`, `1:02:03`.
    public static func clock(_ seconds: Double) -> String {
        let total = Int(max(0, seconds).rounded())
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, secs) : String(format: "%d:%02d", minutes, secs)
    }
}
