import Foundation
import Testing

/// `racelab run --via http`: the stampede sent through a `racelab serve` the command starts itself.
extension LiveLab {
    @Suite struct ViaHTTPTests {
        func report(_ arguments: [String]) async throws -> [String: Any] {
            let result = try await CommandLineTests.racelab(["run"] + arguments + ["--via", "http", "--format", "json"])
            #expect(result.status == 0, "\(result.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        }

        @Test func pessimisticThroughTheAPISellsExactlyTheStock() async throws {
            let object = try await report([
                "--strategy", "pessimistic", "--buyers", "200", "--stock", "1", "--workers", "2", "--consumers", "2",
            ])
            #expect(object["via"] as? String == "http")
            #expect(object["sold"] as? Int == 1)
            #expect((object["publishSec"] as? Double ?? 0) > 0)
            let outcomes = try #require(object["outcomes"] as? [String: Int])
            #expect(outcomes["soldOut"] == 199)
            #expect(outcomes["purchased"] == 1)
            #expect((object["violations"] as? [String])?.isEmpty == true)
        }

        @Test func naiveThroughTheAPIStillOversells() async throws {
            let object = try await report([
                "--strategy", "naive", "--buyers", "200", "--stock", "1", "--workers", "2", "--consumers", "2", "--think-ms", "5",
            ])
            #expect(object["via"] as? String == "http")
            #expect((object["sold"] as? Int ?? 0) > 1)
        }

        @Test func anUnreachableAPIIsOneLine() async throws {
            let result = try await CommandLineTests.racelab([
                "run", "--strategy", "pessimistic", "--buyers", "10", "--stock", "1", "--workers", "1", "--via", "http",
                "--api-url", "http://127.0.0.1:1",
            ])
            #expect(result.status != 0)
            let lines = result.stderr.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("racelab:") }
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("127.0.0.1:1"), "\(result.stderr)")
        }
    }
}

/// `--via` and `--api-url` are checked before anything connects.
@Suite struct ViaHTTPOptionTests {
    @Test(arguments: [
        (["--via", "carrier-pigeon"], "carrier-pigeon"),
        (["--api-url", "http://127.0.0.1:8080"], "--api-url needs --via http"),
        (["--via", "http", "--api-url", "ftp://example"], "--api-url"),
    ])
    func badViaOptionsGetOneLine(extra: [String], mention: String) async throws {
        let result = try await CommandLineTests.racelab(["run", "--strategy", "naive", "--buyers", "10", "--stock", "1"] + extra)
        #expect(result.status != 0)
        #expect(result.stderr.split(whereSeparator: \.isNewline).count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(mention), "stderr: \(result.stderr)")
    }
}
