import ArgumentParser
import Foundation
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Sandbox

/// `racelab up`: starts (or reuses) the lab's own servers and prints how to point other shells at them.
struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the lab's own PostgreSQL and RabbitMQ on loopback (or reuse them); print export lines.",
        discussion: "Use as: eval \"$(racelab up)\""
    )

    @OptionGroup var lab: LabOptions

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.up")
        let sandbox = Sandbox(home: lab.homeURL, logger: logger)
        let servers = try sandbox.up(probes: LabServers.probes)
        print("export RACELAB_POSTGRES_URL='\(servers.postgresURL)'")
        print("export RACELAB_AMQP_URL='\(servers.amqpURL)'")
    }
}

/// `racelab down`: stops the lab's own servers (their data stays for next time).
struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop the lab's own PostgreSQL and RabbitMQ (data is kept)."
    )

    @OptionGroup var lab: LabOptions

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.down")
        let stopped = try Sandbox(home: lab.homeURL, logger: logger).down()
        // On stderr, like every status line: stdout stays for what scripts read.
        let line =
            stopped.isEmpty
            ? "racelab down: no server was running under \(lab.homeURL.path)" : "racelab down: stopped " + stopped.joined(separator: " and ")
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
