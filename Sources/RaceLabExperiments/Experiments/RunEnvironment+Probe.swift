import AMQP
import Foundation
import Logging
import Postgres
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

extension RunEnvironment {
    /// This build's version, stored with every matrix run.
    public static let racelabVersion = "0.3.0"

    /// Asks the servers and this machine where a matrix runs.
    ///
    /// PostgreSQL's version comes from `SHOW server_version`, RabbitMQ's from the server properties of
    /// the AMQP handshake. A server that does not answer gets `unknown` and a warning rather than an
    /// error: the matrix itself will fail on it soon enough, with a better message. Blocks (two short
    /// connections); call it from a thread.
    public static func probe(servers: LabServers, logger: Logger) -> RunEnvironment {
        var postgres = "unknown"
        do {
            let db = try PostgresConnection(url: servers.postgresURL, applicationName: "racelab-probe")
            postgres = try db.query("SHOW server_version").scalar ?? "unknown"
        } catch {
            logger.warning("Cannot read the PostgreSQL version", metadata: ["lab.error": "\(error)"])
        }
        var rabbitmq = "unknown"
        do {
            let connection = try AMQPConnection(endpoint: try AMQPEndpoint(url: servers.amqpURL), connectionName: "racelab probe")
            defer { connection.close() }
            if case .string(let version)? = connection.serverProperties["version"] { rabbitmq = version }
        } catch {
            logger.warning("Cannot read the RabbitMQ version", metadata: ["lab.error": "\(error)"])
        }
        return RunEnvironment(
            postgresVersion: postgres,
            rabbitmqVersion: rabbitmq,
            racelabVersion: racelabVersion,
            hostname: ProcessInfo.processInfo.hostName,
            cpuCount: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: ProcessInfo.processInfo.physicalMemory,
            operatingSystem: ProcessInfo.processInfo.operatingSystemVersionString
        )
    }
}
