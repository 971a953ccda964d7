import Foundation
import Testing

/// `racelab demo` end to end, piped as a script would read it.
extension LiveLab {
    @Suite struct DemoTests {
        @Test func demoShowsTheNaiveOversellAndTheLockedStrategiesSellingExactlyOne() async throws {
            let result = try await CommandLineTests.racelab(["demo", "--buyers", "60"])
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(whereSeparator: \.isNewline).map(String.init)
            let naive = try #require(lines.first { $0.hasPrefix("naive: sold") }, "\(result.stdout)")
            #expect(naive.contains("OVERSOLD by"), "\(naive)")
            for strategy in ["pessimistic", "optimistic", "advisory"] {
                let line = try #require(lines.first { $0.hasPrefix("\(strategy): sold") }, "\(result.stdout)")
                #expect(line.contains("sold exactly 1, 59 turned away"), "\(line)")
            }
            #expect(result.stdout.contains("60 buyers, 1 item(s) × 1 stock"))
            #expect(result.stdout.contains("racelab matrix experiments/contention.yaml --quick"))
            #expect(!result.stdout.contains("\u{1B}["), "ANSI escapes in piped output")
        }

        @Test func demoRefusesBadInputInOneLine() async throws {
            let result = try await CommandLineTests.racelab(["demo", "--buyers", "0"])
            #expect(result.status != 0)
            #expect(result.stderr.split(whereSeparator: \.isNewline).count == 1)
            #expect(result.stderr.contains("--buyers"))
        }
    }
}
