import Foundation

/// Wall-clock time in nanoseconds since the Unix epoch: comparable across processes on one host,
/// which is what publish → commit latency needs.
public enum WallClock {
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
