import ArgumentParser
import Dispatch
import Foundation
import RaceLabCommandLine
import RaceLabServer

/// `racelab-server` (also run as `racelab serve`): the HTTP front door (purchases, items, events, metrics, docs).
///
/// Its own executable so that `racelab` builds without Hummingbird and SwiftNIO. It names itself after
/// `argv[0]`: `racelab serve` hands over as "racelab serve", and then its usage and its one-line errors
/// read as that command's.
@main
struct ServerCommand: ParsableCommand {
    /// "racelab serve" when `racelab serve` started it, else the executable's own name.
    static let name =
        CommandLine.arguments.first.map { $0 == "racelab serve" ? $0 : URL(fileURLWithPath: $0).lastPathComponent } ?? "racelab-server"

    static let configuration = CommandConfiguration(
        commandName: name,
        abstract: "Serve the HTTP API until stopped (SIGINT/SIGTERM); see /docs once it runs.",
        discussion: "Purchases are published to racelab.purchases with confirms; run workers (racelab worker) to settle them."
    )

    /// What errors start with: the command's first word, "racelab" under `racelab serve`.
    static let errorName = name.split(separator: " ").first.map(String.init) ?? name

    static func main() { OneLineErrors.run(Self.self, arguments: Array(CommandLine.arguments.dropFirst()), name: errorName) }

    @OptionGroup var lab: LabOptions

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0: a free one; the port taken is printed on start).")
    var port: Int = 8080

    @Option(
        help: """
            API token (env RACELAB_API_TOKEN, which keeps it out of the process list): POSTs must then send \
            Authorization: Bearer <token>; needed for a host beyond loopback.
            """
    )
    var token: String?

    /// Set by `racelab run --via http`, which starts this server: stop when that parent is gone.
    @Flag(help: .hidden)
    var exitWithParent = false

    /// The token given, else `RACELAB_API_TOKEN`'s.
    var apiToken: String? { token ?? LabOptions.environment("RACELAB_API_TOKEN") }

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be in 0...65535 (got \(port))") }
        // Before any server is reached or started: a port in use or an unknown host is one line naming it.
        if let failure = ListenFailure.check(host: host, port: port) { throw ValidationError(failure.description) }
        let configuration = APIServerConfiguration(postgresURL: "", amqpURL: "", host: host, port: port, token: apiToken)
        if let problem = configuration.problem { throw ValidationError(problem) }
    }

    func run() throws {
        let logger = lab.makeLogger(label: "racelab.serve")
        let servers = try lab.servers(logger: logger)
        let configuration = APIServerConfiguration(
            postgresURL: servers.postgresURL,
            amqpURL: servers.amqpURL,
            host: host,
            port: port,
            token: apiToken
        )
        let server = try APIServer(configuration: configuration, logger: logger)
        // The command is synchronous (see RaceLabCommand.main); the server runs in a task while this thread
        // waits. Hummingbird's service group stops it gracefully on SIGINT/SIGTERM.
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                try await server.run { port in
                    // One line on stderr (stdout stays clean), whatever the log level: where to point a browser.
                    let line = "\(Self.name): listening on \(configuration.baseURL(port: port)) (dashboard /, docs /docs)\n"
                    FileHandle.standardError.write(Data(line.utf8))
                }
            } catch {
                server.stop()
                OneLineErrors.fail("\(error)", name: Self.errorName)
            }
            done.signal()
        }
        var parentWatch: DispatchSourceTimer?
        if exitWithParent {
            let parent = getppid()
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + 1, repeating: 1)
            timer.setEventHandler { if getppid() != parent { kill(getpid(), SIGTERM) } }  // the graceful path
            timer.resume()
            parentWatch = timer
        }
        done.wait()
        parentWatch?.cancel()
        server.waitUntilStopped()
        logger.info("Server stopped")
    }
}
