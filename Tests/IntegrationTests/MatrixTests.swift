import Foundation
import LabTestSupport
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Testing

/// `racelab matrix` and `racelab runs` end to end: the CLI binary, local workers, the real servers.
extension LiveLab {
    @Suite struct MatrixTests {
        static let tinySpec = """
            name: tiny
            description: two strategies, two repetitions, one worker
            strategies: [naive, pessimistic]
            buyers: [20]
            stock: [2]
            workers: [1]
            consumers: [2]
            repetitions: 2
            seed: 7
            """

        /// A fresh folder with the spec in it, removed after `body`.
        func withFolder<T>(_ body: (URL) async throws -> T) async throws -> T {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-matrix-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            return try await body(folder)
        }

        @Test func aTinyMatrixStoresEveryRunAndWritesTheReports() async throws {
            try await withFolder { folder in
                let spec = folder.appendingPathComponent("tiny.yaml")
                try Self.tinySpec.write(to: spec, atomically: true, encoding: .utf8)
                let store = folder.appendingPathComponent("results.sqlite").path
                let output = folder.appendingPathComponent("report")

                let result = try await CommandLineTests.racelab(["matrix", spec.path, "--store", store, "--output", output.path])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.contains("naive"))
                #expect(result.stdout.contains("pessimistic"))
                let lastLine = try #require(result.stderr.split(whereSeparator: \.isNewline).last.map(String.init))
                #expect(lastLine.contains("Matrix run 1 (tiny)"), "\(lastLine)")
                #expect(lastLine.contains(output.path), "\(lastLine)")

                let record = try #require(try await onThread { try ResultStore(path: store).matrixRun(id: 1) })
                #expect(record.name == "tiny")
                #expect(record.finishedAt != nil)
                #expect(record.environment.postgresVersion.first?.isNumber == true, "\(record.environment.postgresVersion)")
                #expect(record.environment.rabbitmqVersion.first?.isNumber == true, "\(record.environment.rabbitmqVersion)")
                #expect(record.entries.count == 4)
                #expect(record.entries.map(\.cell.strategy) == [.naive, .pessimistic, .naive, .pessimistic])
                #expect(record.entries.map(\.repetition) == [1, 1, 2, 2])
                #expect(record.entries.map(\.report.seed) == [7, 7, 8, 8])
                for entry in record.entries {
                    #expect(entry.report.outcomes.indeterminate == 0)
                    #expect(entry.report.outcomes.total == 20)
                    #expect(!entry.report.latencyCurve.isEmpty)
                    if entry.cell.strategy == .pessimistic {
                        #expect(entry.report.sold == 2)
                        #expect(entry.report.violations.isEmpty)
                    }
                }

                for name in ["runs.json", "runs.csv", "report.md", "report.html"] {
                    #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), "\(name) missing")
                }
                let runsJSON = try Data(contentsOf: output.appendingPathComponent("runs.json"))
                let written = try #require(try JSONSerialization.jsonObject(with: runsJSON) as? [String: Any])
                #expect((written["entries"] as? [Any])?.count == 4)

                let listed = try await CommandLineTests.racelab(["runs", "--store", store, "--format", "json"])
                #expect(listed.status == 0, "\(listed.stderr)")
                let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
                #expect(runs.count == 1)
                #expect(runs.first?["name"] as? String == "tiny")
                #expect(runs.first?["runs"] as? Int == 4)
                #expect(runs.first?["quick"] as? Bool == false)

                let table = try await CommandLineTests.racelab(["runs", "--store", store])
                #expect(table.status == 0)
                #expect(table.stdout.contains("tiny"))
            }
        }

        @Test func aBadSpecFailsAtOnceNamingTheField() async throws {
            try await withFolder { folder in
                let spec = folder.appendingPathComponent("bad.yaml")
                try (Self.tinySpec + "\nworkers: [1, 100]\n").replacingOccurrences(of: "workers: [1]\n", with: "").write(
                    to: spec,
                    atomically: true,
                    encoding: .utf8
                )
                let result = try await CommandLineTests.racelab(["matrix", spec.path, "--store", folder.appendingPathComponent("s.sqlite").path])
                #expect(result.status == 1)
                #expect(result.stderr == "racelab: \(spec.path): field workers[1]: must be at most 64 (got 100)\n")
                #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("s.sqlite").path))
            }
        }

        @Test func anUnreachableServerFailsAtOnceWithOneLine() async throws {
            try await withFolder { folder in
                let spec = folder.appendingPathComponent("tiny.yaml")
                try Self.tinySpec.write(to: spec, atomically: true, encoding: .utf8)
                let result = try await CommandLineTests.racelab(
                    ["matrix", spec.path, "--store", folder.appendingPathComponent("s.sqlite").path],
                    environment: [
                        "RACELAB_POSTGRES_URL": "postgresql://racelab@127.0.0.1:1/racelab", "RACELAB_AMQP_URL": LabEnvironment.amqpURL ?? "",
                    ]
                )
                #expect(result.status == 1)
                #expect(result.stderr.split(whereSeparator: \.isNewline).count == 1, "\(result.stderr)")
                #expect(result.stderr.contains("PostgreSQL at 127.0.0.1:1"), "\(result.stderr)")
                #expect(result.seconds < 10)
            }
        }
    }
}
