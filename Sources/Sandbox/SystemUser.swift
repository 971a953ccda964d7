import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An unprivileged account the servers run as when we are root (`postgres`, `rabbitmq`, `nobody`).
struct SystemUser: Sendable, Equatable {
    var name: String
    var uid: uid_t
    var gid: gid_t

    /// The account called `name`, or nil if the system has none.
    static func named(_ name: String) -> SystemUser? {
        guard let entry = getpwnam(name) else { return nil }
        return SystemUser(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Makes the user own `path` and, when `recursive`, everything under it.
    /// - Throws: `SandboxError` naming the path when chown fails.
    func own(_ path: String, recursive: Bool = false) throws {
        guard chown(path, uid, gid) == 0 else {
            throw SandboxError("cannot give \(path) to user \(name): \(String(cString: strerror(errno)))")
        }
        guard recursive, let enumerator = FileManager.default.enumerator(atPath: path) else { return }
        for case let relative as String in enumerator {
            let child = (path as NSString).appendingPathComponent(relative)
            // lchown: never follow a symlink out of the tree.
            guard lchown(child, uid, gid) == 0 else {
                throw SandboxError("cannot give \(child) to user \(name): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Whether this user can reach and write `directory`: every ancestor must be searchable by it,
    /// which fails for a clone under /root (mode 700). Asked of the kernel through `runuser … test`.
    func canWrite(_ directory: String, runner: ProcessRunner) -> Bool {
        let command = Command(executable: "test", arguments: ["-w", directory, "-a", "-x", directory], user: name, directory: "/")
        return (try? runner.run(command, timeout: 15).succeeded) ?? false
    }
}
