import ArgumentParser
import Foundation
import RaceLabLab

/// `racelab serve`: the HTTP front door, which is its own executable, `racelab-server` (the only part of
/// RaceLab built on Hummingbird and SwiftNIO, so `racelab` and the demo build without them). This command
/// hands its arguments over: `racelab serve ARGS` is `racelab-server ARGS` in this process (exec).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API until stopped (SIGINT/SIGTERM); see /docs once it runs.",
        discussion: """
            Runs racelab-server, built beside racelab (scripts/setup builds both; the demo's build skips it). \
            Purchases are published to racelab.purchases with confirms; run workers (racelab worker) to settle them. \
            racelab serve --help lists the server's options.
            """
    )

    @Argument(parsing: .captureForPassthrough, help: "The server's options (--host, --port, --token, …).")
    var options: [String] = []

    func run() throws { try Self.handOver(options) }

    /// Replaces this process with `racelab-server arguments`; returns only by throwing.
    static func handOver(_ arguments: [String]) throws -> Never {
        let server: URL
        do { server = try LabExecutable.server() } catch { throw CLIError(message: "serve: \(error)") }
        // The server names itself after argv[0]: "racelab serve" in its usage, its errors start "racelab:".
        let argv = (["racelab serve"] + arguments).map { strdup($0) } + [nil]
        execv(server.path, argv)
        let cause = String(cString: strerror(errno))
        for argument in argv { free(argument) }
        throw CLIError(message: "serve: cannot run \(server.path): \(cause)")
    }
}
