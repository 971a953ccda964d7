import Foundation
import RaceLabCore
import RaceLabPipeline

/// CPU time read from `/proc` at one instant: the whole machine's busy time and that of some processes.
///
/// Two samples bracket a run; their difference says what share of the machine's work the lab's own
/// processes (harness and workers) did, the rest being PostgreSQL, RabbitMQ and anything else running.
/// Linux only: elsewhere every figure reads zero and the share is unknown (nil).
public struct CPUSample: Sendable, Equatable {
    /// Busy time of all CPUs (user, nice, system, irq, softirq, steal), in seconds.
    public var machineBusySeconds: Double
    /// User + system time of this process, in seconds.
    public var selfSeconds: Double
    /// User + system time of each watched process (by pid), in seconds; a process that has gone is absent.
    public var processSeconds: [Int32: Double]

    /// Reads the counters now.
    public static func now(watching pids: [Int32] = []) -> CPUSample {
        let usage = selfUsage()
        let selfSeconds = usage.ru_utime.seconds + usage.ru_stime.seconds
        var processes: [Int32: Double] = [:]
        for pid in pids {
            if let seconds = processSeconds(pid) { processes[pid] = seconds }
        }
        return CPUSample(machineBusySeconds: machineBusySeconds() ?? 0, selfSeconds: selfSeconds, processSeconds: processes)
    }

    /// Clock ticks per second of `/proc` counters.
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The busy fields of the `cpu` line of `/proc/stat`: everything but idle and iowait.
    static func machineBusySeconds(stat: String? = try? String(contentsOfFile: "/proc/stat", encoding: .utf8)) -> Double? {
        guard let line = stat?.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        // user nice system idle iowait irq softirq steal [guest guest_nice — already counted in user/nice]
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        return busy / ticksPerSecond
    }

    /// utime + stime of a process from `/proc/<pid>/stat` (fields 14 and 15, counted after the `(comm)`).
    static func processSeconds(_ pid: Int32, stat: String? = nil) -> Double? {
        guard let text = stat ?? (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are the 12th and 13th here.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// The lab's own CPU share between two samples: (this process + watched processes) / machine busy time.
    ///
    /// A watched process that exited in between is missed; one that started in between counts in full.
    public static func ownShare(from start: CPUSample, to end: CPUSample) -> (own: Double, machine: Double, share: Double?) {
        var own = end.selfSeconds - start.selfSeconds
        for (pid, seconds) in end.processSeconds {
            own += seconds - (start.processSeconds[pid] ?? 0)  // started during the run: all of it
        }
        let machine = end.machineBusySeconds - start.machineBusySeconds
        return (own, machine, machine > 0 ? min(1, own / machine) : nil)
    }
}

extension timeval {
    fileprivate var seconds: Double { Double(tv_sec) + Double(tv_usec) / 1e6 }
}

/// Peak resident memory of this process so far, in bytes (`getrusage` reports kilobytes on Linux).
public func peakResidentBytes() -> Int {
    Int(selfUsage().ru_maxrss) * 1024
}

private func selfUsage() -> rusage {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    return usage
}
