import Foundation

/// An error from PostgreSQL or from reaching it, carrying what a person needs to act on it.
///
/// `sqlState` is the five-character SQLSTATE the server sent (for example `40001`, `40P01`, `23505`),
/// or `nil` when the failure happened before the server answered (connection refused, timeout).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in broad strokes.
    public enum Kind: Sendable, Equatable {
        /// The URL could not be parsed by libpq.
        case invalidURL
        /// The server could not be reached or refused the connection.
        case connect
        /// The server answered a statement with an error (see `sqlState`).
        case server
        /// The connection broke while a statement was in flight.
        case connectionLost
    }

    public var kind: Kind
    /// The SQLSTATE the server returned, when it returned one.
    public var sqlState: String?
    /// One line, written for the person reading it.
    public var message: String

    public init(kind: Kind, sqlState: String? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    public var description: String { message }
}

extension PostgresError {
    /// SQLSTATE 40001: the transaction could not be serialized.
    public var isSerializationFailure: Bool { sqlState == "40001" }
    /// SQLSTATE 40P01: the server broke a deadlock by aborting this transaction.
    public var isDeadlock: Bool { sqlState == "40P01" }
    /// SQLSTATE 55P03: a `NOWAIT` lock was not available.
    public var isLockNotAvailable: Bool { sqlState == "55P03" }
    /// SQLSTATE 23505: a unique constraint was violated.
    public var isUniqueViolation: Bool { sqlState == "23505" }
}

/// Folds libpq's multi-line messages ("connection to server … failed: Connection refused\n\tIs the server running…") into one line.
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline)
        .map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
        .joined(separator: "; ")
}
