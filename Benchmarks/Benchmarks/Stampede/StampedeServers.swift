import Foundation
import Logging
import RaceLab

/// The PostgreSQL and RabbitMQ the stampede benchmark runs against, named the way the CLI and the
/// tests name them: `RACELAB_POSTGRES_URL` and `RACELAB_AMQP_URL`.
enum StampedeServers {
    static let startHint = "run `eval \"$(racelab up)\"`"

    /// The servers to use, or why the stampede benchmark is skipped, in one line.
    ///
    /// Connects to both once (from a thread of its own: the C clients block) and declares the schema
    /// and topology, as a worker does on start; gives up after libpq's and librabbitmq's connect
    /// timeouts (5 s).
    static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) -> Result<LabServers, Skip> {
        guard let postgresURL = environment["RACELAB_POSTGRES_URL"], !postgresURL.isEmpty,
            let amqpURL = environment["RACELAB_AMQP_URL"], !amqpURL.isEmpty
        else {
            return .failure(Skip(reason: "RACELAB_POSTGRES_URL/RACELAB_AMQP_URL not set (\(startHint))"))
        }
        let servers = LabServers(postgresURL: postgresURL, amqpURL: amqpURL)
        let worker = Worker(configuration: WorkerConfiguration(postgresURL: postgresURL, amqpURL: amqpURL, name: "bench-probe"), logger: logger)
        do {
            try BlockingThread.run(named: "racelab-bench-probe") { try worker.checkConnections() }
        } catch {
            return .failure(Skip(reason: "servers in RACELAB_POSTGRES_URL/RACELAB_AMQP_URL not reachable: \(error) (\(startHint))"))
        }
        return .success(servers)
    }

    /// Why the stampede benchmark does not run.
    struct Skip: Error {
        var reason: String
        var line: String { "stampede benchmark skipped: \(reason)" }
    }
}
