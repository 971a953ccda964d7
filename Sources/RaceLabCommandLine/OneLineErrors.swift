import ArgumentParser
import Foundation

/// How RaceLab's executables end on an error: one line on stderr, `name: ` before it, exit status 1.
/// Help, `--version` and usage errors print as ArgumentParser prints them.
package enum OneLineErrors {
    /// Parses `arguments` as `Command` and runs it; a thrown error becomes one line (see ``fail(_:name:)``).
    package static func run<Command: ParsableCommand>(_ command: Command.Type, arguments: [String], name: String) -> Never {
        do {
            var parsed = try Command.parseAsRoot(arguments)
            try parsed.run()
            Foundation.exit(0)
        } catch {
            if Command.exitCode(for: error) == .success { Command.exit(withError: error) }  // --help, --version
            fail(Command.message(for: error), name: name)
        }
    }

    /// Prints the first line of `message` as `name: message` on stderr and exits with status 1.
    package static func fail(_ message: String, name: String) -> Never {
        let line = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? message
        FileHandle.standardError.write(Data("\(name): \(line)\n".utf8))
        Foundation.exit(1)
    }
}
