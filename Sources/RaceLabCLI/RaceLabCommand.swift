import ArgumentParser
import Foundation

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
        // `racelab help NAME` for a NAME that is not a command is an error, not the root help.
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "help", arguments.count > 1 {
            let known = configuration.subcommands.map { $0._commandName }
            if !known.contains(arguments[1]) {
                fail("no command '\(arguments[1])' (commands: \(known.joined(separator: ", ")))")
            }
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success { Self.exit(withError: error) }  // --help, --version
            fail(message(for: error))
        }
    }

    static func fail(_ message: String) -> Never {
        let line = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? message
        FileHandle.standardError.write(Data("racelab: \(line)\n".utf8))
        Foundation.exit(1)
    }
}

/// An error the CLI reports as it is: one line, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
