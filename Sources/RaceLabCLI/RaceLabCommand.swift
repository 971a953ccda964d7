import ArgumentParser
import Foundation
import RaceLabCommandLine

/// `racelab`: the root command.
@main
struct RaceLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "racelab",
        abstract: "A laboratory for the \"last item\" race: purchase strategies through RabbitMQ workers into PostgreSQL.",
        discussion: """
            With RACELAB_POSTGRES_URL and RACELAB_AMQP_URL unset, racelab starts its own PostgreSQL and RabbitMQ \
            on loopback under .racelab/ and reuses them.
            """,
        subcommands: [
            RunCommand.self, WorkerCommand.self, UpCommand.self, DownCommand.self, PoisonCommand.self, DeadLetterCommand.self, MatrixCommand.self,
            RunsCommand.self, CompareCommand.self, DemoCommand.self, ServeCommand.self, BenchCommand.self, StrategiesCommand.self,
            ExplainCommand.self,
        ]
    )

    /// Parses and runs, printing a failure as one line on stderr (help and usage errors print as usual).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // `racelab help NAME` for a NAME that is not a command is an error, not the root help.
        if arguments.first == "help", arguments.count > 1 {
            let known = configuration.subcommands.map { $0._commandName }
            if !known.contains(arguments[1]) {
                fail("no command '\(arguments[1])' (commands: \(known.joined(separator: ", ")))")
            }
        }
        // `racelab serve` is racelab-server's: its options, its help.
        do {
            if arguments.first == "serve" { try ServeCommand.handOver(Array(arguments.dropFirst())) }
            if arguments == ["help", "serve"] { try ServeCommand.handOver(["--help"]) }
        } catch {
            fail("\(error)")
        }
        OneLineErrors.run(Self.self, arguments: arguments, name: "racelab")
    }

    static func fail(_ message: String) -> Never { OneLineErrors.fail(message, name: "racelab") }
}

/// An error the CLI reports as it is: one line, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
