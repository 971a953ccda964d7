import Foundation
import Logging
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

extension LabOptions {
    /// Gets workers serving `racelab.purchases` and clears what an unfinished earlier run left there.
    ///
    /// With `count` > 0 it starts that many local worker processes (stopped by the caller through the
    /// returned pool) and waits until all their consumers are subscribed — its own, each worker says so,
    /// so consumers of others coming and going meanwhile do not matter; with 0 it checks that some
    /// worker is already consuming. Blocks; throws a one-line error when workers do not come up.
    func prepareWorkers(count: Int, consumers: Int, servers: LabServers, runner: StampedeRunner, logger: Logger) throws -> LocalWorkerPool? {
        var pool: LocalWorkerPool?
        if count > 0 {
            let started = try LocalWorkerPool(
                executable: try LabExecutable.current(),
                count: count,
                consumers: consumers,
                postgresURL: servers.postgresURL,
                amqpURL: servers.amqpURL,
                logDirectory: homeURL.appendingPathComponent("logs"),
                logger: logger
            )
            pool = started
            do {
                // A worker that exits on its own will not come up; one killed by a signal is started again.
                try started.waitUntilReady(timeoutSeconds: 30)
            } catch {
                started.stop()
                throw error
            }
        } else {
            try runner.waitForConsumers(atLeast: 1, timeoutSeconds: 0)
        }
        let leftovers = try runner.purgeLeftovers()
        if leftovers > 0 {
            logger.notice("Removed requests an unfinished earlier run left on the queue", metadata: ["lab.removed": "\(leftovers)"])
        }
        return pool
    }
}
