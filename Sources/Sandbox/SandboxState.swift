import Foundation

/// What `home/sandbox.json` remembers between processes: the ports, directories and pids of the
/// servers a sandbox started, so a later `racelab` command reuses them instead of starting new ones.
///
/// Every field is optional so an older or partly written file still decodes; missing values are
/// chosen afresh.
struct SandboxState: Codable, Sendable, Equatable {
    /// Where PostgreSQL runs.
    struct Postgres: Codable, Sendable, Equatable {
        var port: Int
        /// The data directory (`initdb -D`).
        var dataDirectory: String
        var logFile: String
        var binDirectory: String
        /// True once the cluster was created with password authentication (older sandboxes trusted
        /// every local connection; theirs is created again).
        var passwordAuthentication: Bool?
    }

    /// Where RabbitMQ runs.
    struct RabbitMQ: Codable, Sendable, Equatable {
        var port: Int
        var distributionPort: Int
        /// The private epmd's port; epmd is started by the Erlang VM and stopped by us after it.
        var epmdPort: Int
        var nodeName: String
        /// The directory holding mnesia, logs, the cookie and the pid file.
        var baseDirectory: String
        var logFile: String
        /// The process group the node runs in (the pid of the `runuser`/script we started, which
        /// leads it); stopping signals the whole group.
        var processGroup: Int32?
        /// True once the node was created with the sandbox's generated user (older sandboxes had
        /// `guest`/`guest`; theirs is created again).
        var generatedUser: Bool?
    }

    /// The directory the servers' files live in: the home itself, or a directory under /tmp when
    /// the server users cannot reach the home (a clone under /root, mode 700).
    var runtimeDirectory: String?
    var postgres: Postgres?
    var rabbitmq: RabbitMQ?

    /// The state saved in `file`, or an empty state if there is none or it cannot be read.
    static func load(from file: URL) -> SandboxState {
        guard let data = try? Data(contentsOf: file),
            let state = try? JSONDecoder().decode(SandboxState.self, from: data)
        else { return SandboxState() }
        return state
    }

    /// Writes the state to `file` atomically (a reader never sees half a file).
    func save(to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(self).write(to: file, options: .atomic)
        } catch {
            throw SandboxError("cannot write \(file.path): \(error.localizedDescription)")
        }
    }
}
