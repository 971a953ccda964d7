import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct StatisticsTests {
    @Test func meanAndSampleStandardDeviationMatchHandComputedValues() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares sum to 32, sample variance 32 / 7.
        let values: [Double] = [2, 4, 4, 4, 5, 5, 7, 9]
        #expect(Statistics.mean(values) == 5)
        #expect(abs(Statistics.standardDeviation(values) - (32.0 / 7).squareRoot()) < 1e-12)
        #expect(Statistics.standardDeviation([42]) == 0)
        #expect(Statistics.mean([]) == 0)
    }

    @Test func confidenceIntervalUsesStudentsTForSmallSamples() throws {
        // 10, 12, 14: mean 12, s = 2, n = 3, t(0.975, 2) = 4.303 → 4.303 × 2 / √3 = 4.9687.
        let halfWidth = try #require(Statistics.confidenceHalfWidth95([10, 12, 14]))
        #expect(abs(halfWidth - 4.303 * 2 / 3.0.squareRoot()) < 1e-9)
        #expect(abs(halfWidth - 4.9687) < 1e-3)
        #expect(Statistics.confidenceHalfWidth95([10]) == nil)
    }

    @Test(arguments: [(1, 12.706), (2, 4.303), (10, 2.228), (30, 2.042), (31, 1.96), (1000, 1.96)])
    func tCriticalValuesComeFromTheTableThenTheNormal(df: Int, expected: Double) {
        #expect(Statistics.tCritical95(degreesOfFreedom: df) == expected)
    }

    @Test(arguments: [(12.706, 1.0, 0.05), (4.303, 2.0, 0.05), (2.228, 10.0, 0.05), (63.657, 1.0, 0.01), (3.169, 10.0, 0.01), (0, 5.0, 1)])
    func twoSidedPValuesMatchTheTTable(t: Double, df: Double, expected: Double) {
        #expect(abs(Statistics.twoSidedP(t: t, degreesOfFreedom: df) - expected) < 2e-4)
    }

    @Test func welchTestMatchesAHandComputedExample() throws {
        // a: mean 20, s² = 2.5 (n 5); b: mean 24, s² = 10 (n 5): se = √(0.5 + 2) = 1.5811, t = 2.5298,
        // df = 2.5² / (0.25/4 + 4/4) = 5.8824.
        let test = try #require(Statistics.welch([18, 19, 20, 21, 22], [20, 22, 24, 26, 28]))
        #expect(test.difference == 4)
        #expect(abs(test.t - 2.5298) < 1e-4)
        #expect(abs(test.degreesOfFreedom - 5.8824) < 1e-4)
        #expect(test.p > 0.04 && test.p < 0.05)
        #expect(Statistics.welch([1], [2, 3]) == nil)
    }

    @Test func constantSamplesDifferCertainlyOrNotAtAll() throws {
        #expect(try #require(Statistics.welch([0, 0, 0], [0, 0, 0])).p == 1)
        #expect(try #require(Statistics.welch([1, 1], [2, 2])).p == 0)
    }

    @Test func sampleSummaryFormatsMeanAndInterval() {
        #expect(SampleSummary([10, 12, 14]).formatted(digits: 1) == "12.0 ± 5.0")
        #expect(SampleSummary([1500]).formatted(digits: 0) == "1500")
    }
}
