import Foundation
import RaceLabPipeline

/// RaceLab's executables, which `swift build` puts side by side: `racelab` starts its workers from
/// itself (`racelab worker`) and the HTTP server from `racelab-server` beside it.
///
/// The server is its own executable because it is the only part built on Hummingbird and SwiftNIO,
/// most of a first build: `racelab` (and so the demo) builds without them.
package enum LabExecutable {
    /// The HTTP server's executable name.
    package static let serverName = "racelab-server"

    /// This process's own executable, links resolved.
    package static func current() throws -> URL {
        guard let url = Bundle.main.executableURL else { throw HarnessError(message: "cannot find the racelab executable to start workers from") }
        return url.resolvingSymlinksInPath()
    }

    /// `racelab-server` beside this executable; when it is not there, a one-line error saying how to build it.
    package static func server() throws -> URL {
        let folder = try current().deletingLastPathComponent()
        let server = folder.appendingPathComponent(serverName)
        guard FileManager.default.isExecutableFile(atPath: server.path) else {
            // `swift build -c release` puts its products in …/release (the demo's build skips the server).
            let configuration = ["release", "debug"].contains(folder.lastPathComponent) ? "-c \(folder.lastPathComponent) " : ""
            throw HarnessError(
                message: """
                    the HTTP server is not built (no \(server.path)): build it with `swift build \(configuration)--product \(serverName)` \
                    or `scripts/setup`
                    """
            )
        }
        return server
    }
}
