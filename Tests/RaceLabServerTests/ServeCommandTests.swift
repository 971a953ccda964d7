import Foundation
import HummingbirdTesting
import LabTestSupport
import Testing

extension LiveServerLab {
    /// `racelab serve` as a user runs it: the `racelab` executable built next to the tests, against the lab's
    /// servers (found through the same variables).
    @Suite struct ServeCommandTests {
        /// The `racelab` executable built next to the test bundle (`RACELAB_BIN` overrides it).
        static var executable: URL { LiveServers.executable }

        /// This process's environment with the lab's servers: `racelab serve` reads the URLs from it.
        static var environment: [String: String] { ProcessInfo.processInfo.environment.merging(ServerLab.lab.environment) { $1 } }

        @Test func servePrintsTheURLItReallyListensOnAndASecondServeOnThatPortNamesIt() async throws {
            try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build racelab first (swift build --build-tests)")
            let first = Process()
            first.executableURL = Self.executable
            first.environment = Self.environment
            first.arguments = ["serve", "--port", "0"]
            let stderr = Pipe()
            first.standardError = stderr
            first.standardOutput = FileHandle.nullDevice
            try first.run()
            defer { if first.isRunning { first.terminate() } }
            let line = try await onThread { Self.line(startingWith: "racelab serve:", in: stderr.fileHandleForReading) }
            let match = try #require(
                line.wholeMatch(of: /racelab serve: listening on http:\/\/127\.0\.0\.1:(\d+) \(dashboard \/, docs \/docs\)/),
                "serve said: \(line)"
            )
            let port = try #require(Int(match.1))
            #expect(port != 0)
            let status = try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                try await client.get("/openapi.json").status.code
            }
            #expect(status == 200)

            let (code, message) = try await onThread { () -> (Int32, String) in
                let second = Process()
                second.executableURL = Self.executable
                second.environment = Self.environment
                second.arguments = ["serve", "--port", String(port)]
                let output = Pipe()
                second.standardError = output
                second.standardOutput = FileHandle.nullDevice
                try second.run()
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                second.waitUntilExit()
                return (second.terminationStatus, text)
            }
            #expect(code == 1)
            #expect(message == "racelab: port \(port) on 127.0.0.1 is in use; pick another with --port\n")

            first.terminate()
            try await onThread { first.waitUntilExit() }
            #expect(first.terminationStatus == 0)  // SIGTERM is a clean stop
        }

        /// Reads lines until one starts with `prefix` and returns it; at the end (the process exited first),
        /// everything read. Blocks: call on a thread.
        private static func line(startingWith prefix: String, in handle: FileHandle) -> String {
            var text = ""
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return text }
                text += String(decoding: chunk, as: UTF8.self)
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()  // the last may be partial
                if let line = lines.first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            }
        }
    }
}
