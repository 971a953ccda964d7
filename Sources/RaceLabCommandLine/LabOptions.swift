import ArgumentParser
import Foundation
import Logging
import RaceLabLab
import Sandbox

/// Where the servers are and how chatty the logs are; shared by every subcommand.
package struct LabOptions: ParsableArguments {
    package init() {}

    @Option(help: "PostgreSQL URL (env RACELAB_POSTGRES_URL; unset: the lab's own server under the lab home).")
    package var postgresURL: String?

    @Option(help: "RabbitMQ URL (env RACELAB_AMQP_URL; unset: the lab's own server under the lab home).")
    package var amqpURL: String?

    @Option(help: "The lab home, for the embedded servers and logs (env RACELAB_HOME).")
    package var home: String = Sandbox.defaultHome().path

    @Option(help: "Log level on stderr: trace, debug, info, notice, warning, error (env RACELAB_LOG_LEVEL; default notice).")
    package var logLevel: String?

    /// The level in force: the option, else `RACELAB_LOG_LEVEL`, else notice.
    package var level: String { logLevel ?? Self.environment("RACELAB_LOG_LEVEL") ?? "notice" }

    package func validate() throws {
        // The lab home (the sandbox's servers, logs, the result store) must be a folder we can write.
        let homeSource = Self.environment("RACELAB_HOME") != nil && home == Sandbox.defaultHome().path ? "RACELAB_HOME" : "--home"
        if let problem = WritablePath.problemWithFolder(home, option: homeSource) { throw ValidationError(problem) }
        // Checked as early as the option it stands for; the error names where the value came from.
        guard Logger.Level(rawValue: level) != nil else {
            let source = logLevel == nil ? "RACELAB_LOG_LEVEL" : "--log-level"
            throw ValidationError("\(source) must be one of trace, debug, info, notice, warning, error (got '\(level)')")
        }
        let postgres = [(postgresURL, "--postgres-url"), (Self.environment("RACELAB_POSTGRES_URL"), "RACELAB_POSTGRES_URL")]
        for case (let value?, let source) in postgres {
            if let problem = LabServers.postgresURLProblem(value, source: source) { throw ValidationError(problem) }
        }
        let amqp = [(amqpURL, "--amqp-url"), (Self.environment("RACELAB_AMQP_URL"), "RACELAB_AMQP_URL")]
        for case (let value?, let source) in amqp {
            if let problem = LabServers.amqpURLProblem(value, source: source) { throw ValidationError(problem) }
        }
    }

    package var homeURL: URL { URL(fileURLWithPath: home) }

    /// Sets up swift-log on stderr and returns the command's logger.
    package func makeLogger(label: String) -> Logger {
        let level = Logger.Level(rawValue: self.level) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    /// The configured servers, with the sandbox standing in for any that is not configured.
    package func servers(logger: Logger) throws -> LabServers {
        try LabServers.resolve(
            postgresURL: postgresURL ?? Self.environment("RACELAB_POSTGRES_URL"),
            amqpURL: amqpURL ?? Self.environment("RACELAB_AMQP_URL"),
            home: homeURL,
            logger: logger
        )
    }

    /// An environment variable, with empty counting as unset.
    package static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
