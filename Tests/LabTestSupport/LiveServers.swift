import Foundation
import Logging
import Testing

/// The servers the test command started (`eval "$(racelab up)"`), found through the variables the CLI
/// reads. Suites do not use these URLs directly: each works in its own ``IsolatedLab`` on them.
package enum LiveServers {
    /// `RACELAB_POSTGRES_URL`: a role that may create databases (the sandbox's may).
    package static let postgresURL = ProcessInfo.processInfo.environment["RACELAB_POSTGRES_URL"]
    /// `RACELAB_AMQP_URL`: a user that may use the virtual hosts the tests add (the sandbox's may).
    package static let amqpURL = ProcessInfo.processInfo.environment["RACELAB_AMQP_URL"]
    package static var available: Bool { postgresURL != nil && amqpURL != nil }
    package static let skipNotice: Comment = "start the servers with `eval \"$(racelab up)\"` (scripts/test does)"

    /// The tests' logger: warnings and worse, so a passing run stays quiet.
    package static let logger: Logger = {
        var logger = Logger(label: "racelab.tests")
        logger.logLevel = .warning
        return logger
    }()

    /// The `racelab` executable built next to the test bundle (`RACELAB_BIN` overrides it).
    package static var executable: URL {
        if let override = ProcessInfo.processInfo.environment["RACELAB_BIN"] { return URL(fileURLWithPath: override) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("racelab")
    }
}
