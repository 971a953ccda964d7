import Foundation

/// Runs blocking work (libpq, librabbitmq, thread joins, child processes) on its own thread, never on a
/// Swift concurrency task, and awaits the result.
package func onThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}
