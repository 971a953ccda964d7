import AMQP
import Dispatch
import Foundation
import Logging
import RaceLabCore
import RaceLabPipeline
import Synchronization

/// The server's one publisher to RabbitMQ: a dedicated thread owning an `AMQPConnection` in confirm mode.
///
/// Route handlers `await` ``publish(_:to:)``; the thread takes every publish queued meanwhile, sends them,
/// waits for the broker's confirms once for the batch and resumes each caller — so a purchase is answered
/// only after RabbitMQ has taken it. librabbitmq blocks, so it never runs on a Swift concurrency thread.
/// The connection is opened on first use and reopened after a failure. At most ``maxQueuedJobs`` jobs wait
/// for the thread; beyond that a job fails at once (`503`).
final class BrokerGateway: Sendable {
    /// Why a publish did not end in a confirm; the difference tells whether the broker may hold the message.
    enum PublishFailure: Error, Sendable, Equatable {
        /// Nothing was sent (the queue was full, the server is stopping, RabbitMQ could not be reached).
        case notSent(String)
        /// The message was sent, or may have been, but not confirmed (a nack, a timeout, a lost channel):
        /// RabbitMQ may still deliver it.
        case unconfirmed(String)
    }

    private enum Job: Sendable {
        case publish(body: [UInt8], queue: String, continuation: CheckedContinuation<Void, any Error>)
        case queueDepth(CheckedContinuation<Int, any Error>)

        func fail(_ reason: String) {
            switch self {
            case .publish(_, _, let continuation): continuation.resume(throwing: PublishFailure.notSent(reason))
            case .queueDepth(let continuation): continuation.resume(throwing: ProblemDetails.unavailable("RabbitMQ is unavailable: \(reason)"))
            }
        }
    }

    private struct State {
        var jobs: [Job] = []
        var stopped = false
    }

    /// How long the broker may take to confirm a batch before its callers get `503`.
    static let confirmTimeout: Duration = .seconds(5)
    /// Jobs that may wait for the publisher thread (a demo stampede queues up to 10,000 at once).
    static let maxQueuedJobs = 20_000

    private let endpoint: AMQPEndpoint
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(endpoint: AMQPEndpoint, logger: Logger) {
        self.endpoint = endpoint
        self.logger = logger
    }

    /// Starts the thread. Call once.
    func start() {
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = "racelab-api-broker"
        thread.start()
    }

    /// Asks the thread to stop; queued work fails (``PublishFailure/notSent(_:)``). Returns at once.
    func stop() {
        state.withLock { $0.stopped = true }
        wakeup.signal()
    }

    /// Blocks until the thread has closed its connection and ended. Not from a Swift concurrency task.
    func waitUntilFinished() {
        finished.wait()
    }

    /// Publishes a persistent JSON message to `queue` (`racelab.purchases` or a shard queue) and returns
    /// once the broker confirmed it.
    ///
    /// - Throws: ``PublishFailure``: `notSent` when the queue is full or RabbitMQ unreachable, `unconfirmed`
    ///   when it nacks or does not confirm in time.
    func publish(_ body: [UInt8], to queue: String = Topology.purchases) async throws {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(.publish(body: body, queue: queue, continuation: continuation))
        }
    }

    /// The number of ready messages in `racelab.purchases`.
    /// - Throws: ``ProblemDetails`` `503` when RabbitMQ does not answer.
    func queueDepth() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(.queueDepth(continuation))
        }
    }

    private func enqueue(_ job: Job) {
        let refusal = state.withLock { state -> String? in
            guard !state.stopped else { return "the server is shutting down" }
            guard state.jobs.count < Self.maxQueuedJobs else { return "the publisher has \(Self.maxQueuedJobs) requests waiting" }
            state.jobs.append(job)
            return nil
        }
        if let refusal { return job.fail(refusal) }
        wakeup.signal()
    }

    /// The thread's loop: take every queued job, run it, repeat; between jobs keep the connection's heartbeats flowing.
    private func serve() {
        var connection: AMQPConnection?
        var away = false  // so an outage is logged when it starts and ends, not once a batch
        while true {
            _ = wakeup.wait(timeout: .now() + 1)
            let (jobs, stopped) = state.withLock { state in
                defer { state.jobs.removeAll() }
                return (state.jobs, state.stopped)
            }
            if stopped {
                for job in jobs { job.fail("the server is shutting down") }
                break
            }
            if jobs.isEmpty {
                // Heartbeats are serviced only inside library calls: read whatever is waiting.
                if let open = connection, (try? open.pollConfirms()) == nil {
                    open.close()
                    connection = nil
                }
                continue
            }
            let open: AMQPConnection
            do {
                open = try connection ?? connect()
                connection = open
                if away { logger.notice("RabbitMQ takes publishes again") }
                away = false
            } catch {
                if !away { logger.warning("Cannot reach RabbitMQ; publishes answer 503 until it is back", metadata: ["lab.error": "\(error)"]) }
                away = true
                for job in jobs { job.fail("cannot reach RabbitMQ") }
                continue
            }
            if !run(jobs, on: open) {
                open.close()
                connection = nil
            }
        }
        connection?.close()
    }

    private func connect() throws -> AMQPConnection {
        let connection = try AMQPConnection(endpoint: endpoint, connectTimeout: .seconds(3), connectionName: "racelab api publisher")
        try Topology.declare(on: connection)
        try connection.enableConfirms()
        return connection
    }

    /// Runs one batch: queue inspections, then every publish followed by one wait for confirms.
    /// - Returns: false when the connection must be dropped.
    private func run(_ jobs: [Job], on connection: AMQPConnection) -> Bool {
        var healthy = true
        var waiting: [CheckedContinuation<Void, any Error>] = []
        var bodies: [(body: [UInt8], queue: String)] = []
        for job in jobs {
            switch job {
            case .queueDepth(let continuation):
                do {
                    continuation.resume(returning: try connection.inspectQueue(Topology.purchases).messageCount)
                } catch {
                    healthy = false
                    logger.warning("RabbitMQ did not answer a queue inspection", metadata: ["lab.error": "\(error)"])
                    continuation.resume(throwing: ProblemDetails.unavailable("RabbitMQ did not answer"))
                }
            case .publish(let body, let queue, let continuation):
                waiting.append(continuation)
                bodies.append((body, queue))
            }
        }
        guard !waiting.isEmpty else { return healthy }
        let properties = AMQPMessageProperties(persistent: true, contentType: "application/json")
        var sent = 0
        do {
            for (body, queue) in bodies {
                sent += 1  // counted before the call: a publish that fails midway may have reached the broker
                try connection.publish(routingKey: queue, body: body, properties: properties)
            }
            try connection.waitForConfirms(timeout: Self.confirmTimeout)
            for continuation in waiting { continuation.resume() }
            return healthy
        } catch {
            // A nack, a timeout or a lost channel: the broker may hold what was sent, but none is confirmed;
            // what came after the failing publish was never sent.
            logger.warning("RabbitMQ did not confirm publishes", metadata: ["lab.error": "\(error)", "lab.count": "\(sent)"])
            for (index, continuation) in waiting.enumerated() {
                continuation.resume(
                    throwing: index < sent
                        ? PublishFailure.unconfirmed("RabbitMQ did not confirm it") : PublishFailure.notSent("the connection to RabbitMQ failed")
                )
            }
            return false
        }
    }
}
