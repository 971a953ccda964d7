import Dispatch
import Foundation
import Logging
import Postgres
import Synchronization

/// The server's PostgreSQL sessions: a few dedicated threads, each owning a `PostgresConnection`, serving
/// one shared queue of jobs.
///
/// Route handlers `await` ``run(_:)``; the job runs on one of the threads (libpq blocks, so it never runs on
/// a Swift concurrency thread). A connection is opened on first use and dropped when it breaks. At most
/// ``maxQueuedJobs`` jobs wait; beyond that a job fails at once (`503`).
///
/// PostgreSQL going away is never a `500`: a job whose connection broke under it (the server stopped or
/// restarted, the network failed) fails with the same `503` as a job that cannot connect, until the server is
/// back (``requestError(for:connectionBroken:)``). The log says so once when it goes and once when it is back,
/// not once a request.
final class DatabaseGateway: Sendable {
    /// Jobs that may wait for a thread.
    static let maxQueuedJobs = 1_000

    /// A job gets the thread's connection, or the error that kept it from connecting.
    typealias Job = @Sendable (Result<PostgresConnection, any Error>) -> Void

    private struct State {
        var jobs: [Job] = []
        var head = 0
        var stopped = false
    }

    private let url: String
    private let threads: Int
    private let logger: Logger
    private let state = Mutex(State())
    /// Whether the last connection attempt succeeded, so the log tells the change, not every refused request.
    private let reachable = Mutex(true)
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(url: String, threads: Int, logger: Logger) {
        self.url = url
        self.threads = threads
        self.logger = logger
    }

    /// Starts the threads. Call once.
    func start() {
        for index in 0..<threads {
            let thread = Thread { [self] in
                serve()
                finished.signal()
            }
            thread.name = "racelab-api-db-\(index)"
            thread.start()
        }
    }

    /// Asks the threads to stop once the queue is empty. Returns at once.
    func stop() {
        state.withLock { $0.stopped = true }
        for _ in 0..<threads { wakeup.signal() }
    }

    /// Blocks until every thread has ended. Not from a Swift concurrency task.
    func waitUntilFinished() {
        for _ in 0..<threads { finished.wait() }
    }

    /// Runs `body` with a connection on one of the gateway's threads and returns its result.
    ///
    /// - Throws: ``ProblemDetails`` `503` when PostgreSQL cannot be reached, went away while `body` ran, or the
    ///   queue is full; otherwise what `body` throws.
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { [logger] connection in
                let db: PostgresConnection
                do {
                    db = try connection.get()
                } catch {
                    return continuation.resume(throwing: error)  // already the 503
                }
                do {
                    continuation.resume(returning: try body(db))
                } catch {
                    let answer = Self.requestError(for: error, connectionBroken: !db.isHealthy)
                    if answer is ProblemDetails, !(error is ProblemDetails) {
                        logger.warning("Lost the connection to PostgreSQL", metadata: ["lab.error": "\(error)"])
                    }
                    continuation.resume(throwing: answer)
                }
            }
        }
    }

    /// What a request sees when its job failed with `error`: `503` when PostgreSQL is what failed (the
    /// connection broke under the job, or the error is a failure to reach the server or a lost connection),
    /// else `error` itself — a ``ProblemDetails`` as it is, anything else a `500` (a fault of the server's).
    static func requestError(for error: any Error, connectionBroken: Bool) -> any Error {
        if error is ProblemDetails { return error }
        if connectionBroken { return unavailable }
        if let error = error as? PostgresError, error.kind == .connect || error.kind == .connectionLost { return unavailable }
        return error
    }

    /// The `503` of every request PostgreSQL cannot serve now.
    static var unavailable: ProblemDetails { ProblemDetails.unavailable("PostgreSQL is unavailable") }

    /// Queues a job without waiting for it; a job submitted after ``stop()``, or while the queue is full,
    /// is called at once with a `503` ``ProblemDetails``.
    func submit(_ job: @escaping Job) {
        let refusal = state.withLock { state -> String? in
            guard !state.stopped else { return "the server is shutting down" }
            guard state.jobs.count - state.head < Self.maxQueuedJobs else { return "PostgreSQL is busy: \(Self.maxQueuedJobs) requests are waiting" }
            state.jobs.append(job)
            return nil
        }
        if let refusal {
            job(.failure(ProblemDetails.unavailable(refusal)))
        } else {
            wakeup.signal()
        }
    }

    private func next() -> Job?? {
        state.withLock { state -> Job?? in
            guard state.head < state.jobs.count else { return state.stopped ? .some(nil) : nil }
            let job = state.jobs[state.head]
            state.head += 1
            if state.head == state.jobs.count {
                state.jobs.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return .some(job)
        }
    }

    private func serve() {
        var connection: PostgresConnection?
        while true {
            guard let job = next() else {
                wakeup.wait()
                continue
            }
            guard let job else { break }  // stopped and drained
            do {
                let open = try connection ?? connect()
                connection = open
                job(.success(open))
                if !open.isHealthy { connection = nil }
            } catch {
                job(.failure(Self.unavailable))
            }
        }
    }

    /// Opens a connection; logs when PostgreSQL stops or starts answering (once per change, on any thread).
    private func connect() throws -> PostgresConnection {
        do {
            let connection = try PostgresConnection(url: url, connectTimeoutSeconds: 3, applicationName: "racelab api")
            if noteReachable(true) { logger.notice("PostgreSQL is reachable again") }
            return connection
        } catch {
            if noteReachable(false) {
                logger.warning("Cannot reach PostgreSQL; its requests answer 503 until it is back", metadata: ["lab.error": "\(error)"])
            }
            throw error
        }
    }

    /// Records whether PostgreSQL answered; true when that differs from the last attempt.
    private func noteReachable(_ now: Bool) -> Bool {
        reachable.withLock { last in
            defer { last = now }
            return last != now
        }
    }
}
