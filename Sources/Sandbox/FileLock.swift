import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on a file, so two `racelab` processes never start the same sandbox at once.
///
/// The descriptor is close-on-exec: a server we start must not inherit it, or the lock would live
/// as long as the server. Released by `unlock()` or when the object goes away.
final class FileLock {
    private var descriptor: Int32

    /// Takes the lock, waiting at most `timeout` seconds for another process to release it.
    /// - Throws: `SandboxError` naming the lock file if it cannot be opened or stays held.
    init(path: String, timeout: Double) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw SandboxError("cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                close(descriptor)
                throw SandboxError("another racelab process held \(path) for more than \(Int(timeout)) s; try again when it finishes")
            }
            usleep(100_000)
        }
        self.descriptor = descriptor
    }

    /// Releases the lock; calling it twice is harmless.
    func unlock() {
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit {
        unlock()
    }
}
