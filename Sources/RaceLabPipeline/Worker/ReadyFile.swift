import Foundation
import RaceLabCore

/// The file a worker started by a ``LocalWorkerPool`` creates once every consumer of it is subscribed:
/// how the pool knows its own workers are ready, whatever other consumers come and go on the queues.
public enum ReadyFile {
    /// Creates `path` holding this process's id. Never through a link and never over an existing
    /// file (the pool removes the old one before it starts a worker); a failure only leaves it missing.
    public static func create(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let text = Array("\(getpid())\n".utf8)
        _ = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// The process id written in `path`; nil when there is no such file (yet).
    package static func processIdentifier(at path: String) -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
