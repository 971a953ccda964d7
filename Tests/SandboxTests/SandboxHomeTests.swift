import Foundation
import Testing

@testable import Sandbox

@Suite struct SandboxHomeTests {
    @Test(arguments: [
        ([:], "/work/project/.racelab"),
        (["RACELAB_HOME": "/srv/lab"], "/srv/lab"),
        (["RACELAB_HOME": "lab/home"], "/work/project/lab/home"),
        (["RACELAB_HOME": "../other"], "/work/other"),
        (["RACELAB_HOME": ""], "/work/project/.racelab"),
    ])
    func defaultHomeIsRacelabHomeOrDotRacelabInTheCurrentDirectory(environment: [String: String], expected: String) {
        let home = Sandbox.defaultHome(environment: environment, currentDirectory: "/work/project")
        #expect(home.path == expected)
    }

    @Test func fallbackDirectoryIsStablePerHomeAndDistinctBetweenHomes() {
        let first = Sandbox.fallbackDirectory(for: "/root/src/racelab/.racelab")
        #expect(first == Sandbox.fallbackDirectory(for: "/root/src/racelab/.racelab"))
        #expect(first != Sandbox.fallbackDirectory(for: "/root/src/other/.racelab"))
        #expect(first.hasPrefix("/tmp/racelab-"))
        #expect(first.count == "/tmp/racelab-".count + 16)
    }

    @Test func downWithNothingStartedIsANoOp() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-empty-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: home) }
        try Sandbox(home: home, logger: .init(label: "test")).down()
        #expect(!FileManager.default.fileExists(atPath: home.path))
    }

    @Test func statusOfAnUnusedHomeReportsNothingRunning() {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-empty-\(UUID().uuidString)")
        let probes = SandboxProbes(postgres: { _ in Issue.record("probed without a server") }, amqp: { _ in Issue.record("probed without a server") })
        let status = Sandbox(home: home, logger: .init(label: "test")).status(probes: probes)
        #expect(status == SandboxStatus(postgres: .init(isRunning: false, url: nil), rabbitmq: .init(isRunning: false, url: nil)))
    }

    @Test func commandsSwitchUserThroughRunuserOnlyAsRoot() {
        let command = Command(executable: "/usr/bin/pg_ctl", arguments: ["status"], environment: ["B": "2", "A": "1"], user: "postgres")
        #expect(command.argv(asRoot: false) == ["/usr/bin/pg_ctl", "status"])
        #expect(command.argv(asRoot: true) == ["runuser", "-u", "postgres", "--", "env", "A=1", "B=2", "/usr/bin/pg_ctl", "status"])
    }
}
