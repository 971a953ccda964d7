/// A failure of the local sandbox servers, written for the person who has to fix it.
///
/// The message is one line and names what to do or which log to read, e.g.
/// "PostgreSQL did not start within 60 s; see .racelab/postgres/postgres.log".
public struct SandboxError: Error, Sendable, CustomStringConvertible {
    /// The whole message, one line.
    public var message: String
    public var description: String { message }

    /// Creates an error with a one-line message for a person.
    public init(_ message: String) {
        self.message = message
    }
}
