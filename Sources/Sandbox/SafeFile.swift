import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing files in directories a server's account owns, as root, without ever following a link
/// that account may have planted there.
///
/// Every directory from `root` (ours) down to the file is opened with `O_NOFOLLOW`, so a directory
/// swapped for a symlink is refused; the file is written under a fresh name (`O_EXCL`) and renamed
/// over the old one, so neither a symlink nor a hard link at its name is ever written through.
enum SafeFile {
    /// Replaces `path` (below `root`) with `contents`, mode `mode`, owned by `owner` (or by us).
    /// - Throws: `SandboxError` naming the path and the cause.
    static func replace(_ path: String, below root: String, contents: String, mode: mode_t = 0o644, owner: SystemUser? = nil) throws {
        let (directory, name) = try openParent(of: path, below: root)
        defer { close(directory) }
        let temporary = ".\(name).racelab-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("cannot write \(path)") }
        var written = true
        let bytes = Array(contents.utf8)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count <= 0 {
                    written = false
                    break
                }
                offset += count
            }
        }
        let owned = owner.map { fchown(descriptor, $0.uid, $0.gid) == 0 } ?? true
        _ = fchmod(descriptor, mode)
        close(descriptor)
        guard written, owned, renameat(directory, temporary, directory, name) == 0 else {
            let error = failure("cannot write \(path)")
            unlinkat(directory, temporary, 0)
            throw error
        }
    }

    /// Creates `path` (below `root`) empty, owned by `owner`, unless a regular file is there already.
    /// A symlink or anything else at its name is refused.
    static func createIfMissing(_ path: String, below root: String, mode: mode_t = 0o644, owner: SystemUser? = nil) throws {
        let (directory, name) = try openParent(of: path, below: root)
        defer { close(directory) }
        let descriptor = openat(directory, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode)
        guard descriptor >= 0 else { throw failure("cannot create \(path)") }
        defer { close(descriptor) }
        var attributes = stat()
        guard fstat(descriptor, &attributes) == 0, attributes.st_mode & S_IFMT == S_IFREG else {
            throw SandboxError("cannot create \(path): something other than a regular file is there")
        }
        if let owner, attributes.st_uid != owner.uid { _ = fchown(descriptor, owner.uid, owner.gid) }
    }

    /// Opens `path` for appending without following a link at its name (a server's log we hand to
    /// its process as stdout). Returns the descriptor.
    static func openForAppending(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard descriptor >= 0 else { throw failure("cannot open \(path) for writing") }
        var attributes = stat()
        guard fstat(descriptor, &attributes) == 0, attributes.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw SandboxError("cannot open \(path) for writing: it is not a regular file")
        }
        // Blocking again: the child writes to it normally.
        _ = fcntl(descriptor, F_SETFL, O_WRONLY | O_APPEND)
        return descriptor
    }

    /// The directory holding `path`, opened component by component from `root` with `O_NOFOLLOW`,
    /// and the file's name in it.
    private static func openParent(of path: String, below root: String) throws -> (Int32, String) {
        let standardRoot = (root as NSString).standardizingPath
        let standardPath = (path as NSString).standardizingPath
        guard standardPath.hasPrefix(standardRoot + "/") else {
            throw SandboxError("cannot write \(path): it is not under \(root)")
        }
        var components = standardPath.dropFirst(standardRoot.count + 1).split(separator: "/").map(String.init)
        guard let name = components.popLast(), !components.contains("..") else {
            throw SandboxError("cannot write \(path): not a file path")
        }
        var directory = open(standardRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { throw failure("cannot open \(standardRoot)") }
        for component in components {
            let next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(directory)
            guard next >= 0 else { throw failure("cannot write \(path): \(component) is not a plain directory") }
            directory = next
        }
        return (directory, name)
    }

    private static func failure(_ what: String) -> SandboxError {
        SandboxError("\(what): \(String(cString: strerror(errno)))")
    }
}

/// The passwords of a sandbox's servers, generated on first use and kept in `home/credentials.json`
/// (mode 0600, ours): the servers accept no one without them, and no password is ever passed on a
/// command line (where `ps` would show it to every local user).
struct SandboxCredentials: Codable, Sendable, Equatable {
    /// The PostgreSQL role `racelab`'s password (scram-sha-256).
    var postgresPassword: String
    /// The RabbitMQ user (instead of `guest`) and its password.
    var amqpUser: String
    var amqpPassword: String

    static let fileName = "credentials.json"

    /// For operations that need no password (stopping servers).
    static let unknown = SandboxCredentials(postgresPassword: "", amqpUser: "", amqpPassword: "")

    /// The credentials saved under `home`, generated and saved (0600, never through a link) when there are none.
    /// - Throws: `SandboxError` when the file cannot be read or written, or is open to other users.
    /// `created` is true when they were generated now.
    static func loadOrCreate(home: URL) throws -> (credentials: SandboxCredentials, created: Bool) {
        if let saved = try load(home: home) { return (saved, false) }
        let fresh = SandboxCredentials(postgresPassword: secret(), amqpUser: "racelab", amqpPassword: secret())
        let path = home.appendingPathComponent(fileName).path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw SandboxError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = Array(try encoder.encode(fresh)) + [0x0A]
        guard data.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == data.count else {
            throw SandboxError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return (fresh, true)
    }

    /// The credentials saved under `home`; nil when there are none yet.
    static func load(home: URL) throws -> SandboxCredentials? {
        let path = home.appendingPathComponent(fileName).path
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw SandboxError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var attributes = stat()
        guard fstat(descriptor, &attributes) == 0, attributes.st_uid == geteuid(), attributes.st_mode & 0o077 == 0 else {
            throw SandboxError("\(path) must be a file of yours that only you can read (chmod 600 \(path))")
        }
        guard let data = try? handle.readToEnd(), let saved = try? JSONDecoder().decode(SandboxCredentials.self, from: data) else {
            throw SandboxError("\(path) is not a credentials file; remove it and run `racelab down` then `racelab up`")
        }
        return saved
    }

    /// 32 random hexadecimal digits (128 bits): safe in a URL and in a config file without quoting.
    static func secret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
