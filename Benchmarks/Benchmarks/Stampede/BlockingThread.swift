import Foundation

/// Runs blocking work (libpq, librabbitmq) on a thread of its own and waits for it, so that the C
/// calls never run on a Swift concurrency thread — the benchmark runner calls everything from its
/// `async` main.
enum BlockingThread {
    /// Runs `body` on a new thread and blocks the caller until it returns or throws.
    static func run<T: Sendable>(named name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let reply = Mailbox<Result<T, any Error>>()
        let thread = Thread { reply.post(Result { try body() }) }
        thread.name = name
        thread.start()
        return try reply.take().get()
    }
}
