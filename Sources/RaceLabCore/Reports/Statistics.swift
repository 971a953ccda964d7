import Foundation

/// The statistics behind reports and comparisons: means, sample standard deviations, Student's t
/// confidence intervals and Welch's t-test. Pure functions over `[Double]`.
public enum Statistics {
    /// The arithmetic mean; 0 for no values.
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// The sample standard deviation (divides by n − 1); 0 for fewer than two values.
    /// The middle value (the mean of the middle two for an even count); 0 for none.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    public static func standardDeviation(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let m = mean(values)
        let squares = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// Two-sided 95% critical values of Student's t for 1…30 degrees of freedom.
    package static let t95: [Double] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ]

    /// The two-sided 95% critical value of Student's t with `degreesOfFreedom` (the normal 1.96 above 30).
    public static func tCritical95(degreesOfFreedom: Int) -> Double {
        guard degreesOfFreedom >= 1 else { return .infinity }
        return degreesOfFreedom <= t95.count ? t95[degreesOfFreedom - 1] : 1.96
    }

    /// Half the width of the 95% confidence interval of the mean (t × s / √n); nil for fewer than two values,
    /// where the spread cannot be told.
    public static func confidenceHalfWidth95(_ values: [Double]) -> Double? {
        guard values.count > 1 else { return nil }
        return tCritical95(degreesOfFreedom: values.count - 1) * standardDeviation(values) / Double(values.count).squareRoot()
    }

    /// The two-sided p-value of Student's t statistic `t` with `degreesOfFreedom` (fractional allowed, as
    /// Welch's test gives): the chance of |T| ≥ |t| when the true difference is zero.
    public static func twoSidedP(t: Double, degreesOfFreedom: Double) -> Double {
        guard t.isFinite else { return t.isNaN ? 1 : 0 }
        guard degreesOfFreedom > 0 else { return 1 }
        let x = degreesOfFreedom / (degreesOfFreedom + t * t)
        return min(1, max(0, regularizedIncompleteBeta(x: x, a: degreesOfFreedom / 2, b: 0.5)))
    }

    /// Welch's unequal-variances t-test of `b` against `a`; nil when either side has fewer than two values.
    ///
    /// `minimumStandardDeviation` stands in for a side's spread when its values spread less: for counts
    /// (units sold), where three identical repetitions do not prove a spread of zero.
    public static func welch(_ a: [Double], _ b: [Double], minimumStandardDeviation: Double = 0) -> WelchTest? {
        guard a.count > 1, b.count > 1 else { return nil }
        let difference = mean(b) - mean(a)
        let va = pow(max(standardDeviation(a), minimumStandardDeviation), 2) / Double(a.count)
        let vb = pow(max(standardDeviation(b), minimumStandardDeviation), 2) / Double(b.count)
        let standardError = (va + vb).squareRoot()
        guard standardError > 0 else {
            // Both sides constant: any difference at all is certain, none is no change.
            return WelchTest(
                difference: difference,
                t: difference == 0 ? 0 : .infinity,
                degreesOfFreedom: Double(a.count + b.count - 2),
                p: difference == 0 ? 1 : 0
            )
        }
        let t = difference / standardError
        let varianceSum: Double = va + vb
        let denominator: Double = va * va / Double(a.count - 1) + vb * vb / Double(b.count - 1)
        let df = varianceSum * varianceSum / denominator
        return WelchTest(difference: difference, t: t, degreesOfFreedom: df, p: twoSidedP(t: t, degreesOfFreedom: df))
    }

    /// I_x(a, b), by the continued fraction of Numerical Recipes (§6.4), accurate to about 1e-12 here.
    package static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logGammas + logPowers)
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x: x, a: a, b: b) / a }
        return 1 - front * continuedFraction(x: 1 - x, a: b, b: a) / b
    }

    private static func continuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for step in 1...500 {
            let m = Double(step)
            let even = m * (b - m) * x / ((a - 1 + 2 * m) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1 + 2 * m))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return h
    }
}

/// The result of Welch's t-test of one sample against another.
public struct WelchTest: Sendable, Equatable, Codable {
    /// mean(b) − mean(a).
    public var difference: Double
    public var t: Double
    /// Welch–Satterthwaite degrees of freedom (fractional).
    public var degreesOfFreedom: Double
    /// Two-sided p-value.
    public var p: Double
}

/// One metric over the repetitions of a cell: how many, their mean, spread and 95% confidence interval.
public struct SampleSummary: Sendable, Equatable, Codable {
    public var count: Int
    public var mean: Double
    /// Sample standard deviation; 0 with one value.
    public var standardDeviation: Double
    /// Half-width of the 95% confidence interval of the mean; nil with one value.
    public var ci95: Double?
    /// The values themselves, in repetition order.
    public var values: [Double]

    public init(_ values: [Double]) {
        self.count = values.count
        self.mean = Statistics.mean(values)
        self.standardDeviation = Statistics.standardDeviation(values)
        self.ci95 = Statistics.confidenceHalfWidth95(values)
        self.values = values
    }

    /// `1234 ± 56` with `digits` decimals; without the ± when the values do not vary (or there is one), and a
    /// whole number then plain.
    public func formatted(digits: Int = 1) -> String {
        let format = "%.\(digits)f"
        let constant = ci95 == nil || ci95 == 0
        let text = constant && mean == mean.rounded() ? String(Int(mean)) : String(format: format, mean)
        guard let ci95, ci95 > 0 else { return text }
        return "\(text) ± \(String(format: format, ci95))"
    }
}
