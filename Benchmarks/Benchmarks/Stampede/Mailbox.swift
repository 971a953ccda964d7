import Dispatch
import Synchronization

/// A queue of messages between threads: any thread posts, one thread takes, blocking until there is one.
final class Mailbox<Message: Sendable>: Sendable {
    private let messages = Mutex<[Message]>([])
    private let available = DispatchSemaphore(value: 0)

    func post(_ message: Message) {
        messages.withLock { $0.append(message) }
        available.signal()
    }

    /// The oldest message; blocks the calling thread until one is posted.
    func take() -> Message {
        available.wait()
        // Every signal follows an append, so after a wait there is at least one message.
        return messages.withLock { $0.removeFirst() }
    }
}
