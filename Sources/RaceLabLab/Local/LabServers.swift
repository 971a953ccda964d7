import AMQP
import Foundation
import Logging
import Postgres
import RaceLabCore
import RaceLabPipeline
import Sandbox

/// The PostgreSQL and RabbitMQ a command talks to: the URLs the user configured, or — for whichever is
/// not configured — the lab's own servers under the lab home, started on first use and reused after.
public struct LabServers: Sendable, Equatable {
    public var postgresURL: String
    public var amqpURL: String

    public init(postgresURL: String, amqpURL: String) {
        self.postgresURL = postgresURL
        self.amqpURL = amqpURL
    }

    /// Uses the given URLs; starts (or reuses) sandbox servers for the ones that are `nil`.
    public static func resolve(postgresURL: String?, amqpURL: String?, home: URL, logger: Logger) throws -> LabServers {
        if let postgresURL, let amqpURL { return LabServers(postgresURL: postgresURL, amqpURL: amqpURL) }
        let sandbox = Sandbox(home: home, logger: logger)
        let started = try sandbox.up(postgres: postgresURL == nil, rabbitmq: amqpURL == nil, probes: probes)
        return LabServers(postgresURL: postgresURL ?? started.postgresURL, amqpURL: amqpURL ?? started.amqpURL)
    }

    /// Why `value`, given as `source` (an option or an environment variable, named in the message),
    /// is not a usable PostgreSQL URL; nil when it looks right: `postgresql://`, `postgres://` or libpq
    /// `key=value` settings (those libpq judges when it connects). Checked before any work.
    public static func postgresURLProblem(_ value: String, source: String) -> String? {
        guard let schemeEnd = value.range(of: "://") else { return nil }
        let scheme = value[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgresql" || scheme == "postgres" else {
            return "\(source): expected a postgresql:// URL (or libpq key=value settings), got a \(scheme):// one"
        }
        return nil
    }

    /// Why `value`, given as `source`, is not a usable `amqp://` URL; nil when it parses.
    public static func amqpURLProblem(_ value: String, source: String) -> String? {
        do {
            _ = try AMQPEndpoint(url: value)
            return nil
        } catch let error as AMQPError {
            return "\(source): \(error.message)"
        } catch {
            return "\(source): \(error)"
        }
    }

    /// Readiness checks with the real clients: a PostgreSQL query and an AMQP login.
    public static let probes = SandboxProbes(
        postgres: { url in
            let db = try PostgresConnection(url: url, connectTimeoutSeconds: 2, applicationName: "racelab-probe")
            try db.execute("SELECT 1")
        },
        amqp: { url in
            let connection = try AMQPConnection(endpoint: try AMQPEndpoint(url: url), connectTimeout: .seconds(2), connectionName: "racelab probe")
            connection.close()
        }
    )
}
