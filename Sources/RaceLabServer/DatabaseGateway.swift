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
    /// - Throws: what `body` throws; ``ProblemDetails`` `503` when PostgreSQL cannot be reached or the queue is full.
    func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { connection in
                continuation.resume(with: Result { try body(connection.get()) })
            }
        }
    }

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
                let open = try connection ?? PostgresConnection(url: url, connectTimeoutSeconds: 3, applicationName: "racelab api")
                connection = open
                job(.success(open))
                if !open.isHealthy { connection = nil }
            } catch {
                logger.warning("Cannot reach PostgreSQL", metadata: ["lab.error": "\(error)"])
                job(.failure(ProblemDetails.unavailable("PostgreSQL is unavailable")))
            }
        }
    }
}
