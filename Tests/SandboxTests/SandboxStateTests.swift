import Foundation
import Testing

@testable import Sandbox

@Suite struct SandboxStateTests {
    @Test func stateFileRoundTripsEveryField() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("sandbox.json")
        let state = SandboxState(
            runtimeDirectory: "/tmp/racelab-0123456789abcdef",
            postgres: .init(
                port: 5433,
                dataDirectory: "/x/postgres/data",
                logFile: "/x/postgres/postgres.log",
                binDirectory: "/usr/lib/postgresql/15/bin"
            ),
            rabbitmq: .init(
                port: 5673,
                distributionPort: 25673,
                epmdPort: 4370,
                nodeName: "racelab-5673@localhost",
                baseDirectory: "/x/rabbitmq",
                logFile: "/x/rabbitmq/rabbitmq.log",
                processGroup: 4242
            )
        )
        try state.save(to: file)
        #expect(SandboxState.load(from: file) == state)
    }

    @Test func missingOrCorruptStateFileLoadsAsEmpty() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("sandbox.json")
        #expect(SandboxState.load(from: file) == SandboxState())
        try Data("{not json".utf8).write(to: file)
        #expect(SandboxState.load(from: file) == SandboxState())
    }

    @Test func stateWithoutServersDecodesFromAnOlderFile() throws {
        let state = try JSONDecoder().decode(SandboxState.self, from: Data(#"{"runtimeDirectory": "/r"}"#.utf8))
        #expect(state.runtimeDirectory == "/r")
        #expect(state.postgres == nil)
        #expect(state.rabbitmq == nil)
    }
}
