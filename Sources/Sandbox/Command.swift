import Foundation

/// One program invocation: what to run, with which extra environment, as which user, where.
///
/// When `user` is set and we are root, the command runs through `runuser -u USER -- env K=V … exe …`
/// (util-linux), because PostgreSQL refuses to run as root and RabbitMQ's files must belong to its
/// own user. `runuser` resets HOME and friends, so the extra environment travels through `env`.
struct Command: Sendable, Equatable {
    var executable: String
    var arguments: [String]
    var environment: [String: String] = [:]
    /// Run as this user when we are root; ignored otherwise.
    var user: String? = nil
    /// Working directory; the target user must be able to enter it.
    var directory: String? = nil

    /// A short form of the command line for logs and error messages.
    var display: String {
        ([URL(fileURLWithPath: executable).lastPathComponent] + arguments).joined(separator: " ")
    }

    /// The argv that really runs, after user switching.
    func argv(asRoot: Bool) -> [String] {
        guard asRoot, let user else { return [executable] + arguments }
        let assignments = environment.keys.sorted().map { "\($0)=\(environment[$0] ?? "")" }
        return ["runuser", "-u", user, "--", "env"] + assignments + [executable] + arguments
    }
}
