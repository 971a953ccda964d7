import Histogram

/// Latency percentiles in milliseconds, read from an HdrHistogram of microseconds.
public struct LatencySummary: Sendable, Equatable, Codable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    public init(p50: Double, p90: Double, p99: Double, max: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.max = max
    }

    public static let zero = LatencySummary(p50: 0, p90: 0, p99: 0, max: 0)

    /// Summarises a histogram whose values are microseconds; all zero when it is empty.
    public init(microseconds histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else {
            self = .zero
            return
        }
        func ms(_ micros: UInt64) -> Double { (Double(micros) / 1000 * 1000).rounded() / 1000 }
        self.init(
            p50: ms(histogram.valueAtPercentile(50)),
            p90: ms(histogram.valueAtPercentile(90)),
            p99: ms(histogram.valueAtPercentile(99)),
            max: ms(histogram.max)
        )
    }

    /// The percentiles a latency curve is drawn through.
    public static let curvePercentiles: [Double] = [0, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]

    /// Points of the latency percentile curve (milliseconds), for plots; empty for an empty histogram.
    public static func curve(microseconds histogram: Histogram<UInt64>) -> [LatencyPoint] {
        guard histogram.totalCount > 0 else { return [] }
        return curvePercentiles.map { percentile in
            let micros = percentile >= 100 ? histogram.max : histogram.valueAtPercentile(percentile)
            return LatencyPoint(percentile: percentile, milliseconds: (Double(micros)).rounded() / 1000)
        }
    }

    /// A histogram sized for latencies from 1 µs to one hour at three significant digits.
    public static func makeHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }
}

/// One point of a latency percentile curve.
public struct LatencyPoint: Sendable, Equatable, Codable {
    public var percentile: Double
    public var milliseconds: Double

    public init(percentile: Double, milliseconds: Double) {
        self.percentile = percentile
        self.milliseconds = milliseconds
    }
}
