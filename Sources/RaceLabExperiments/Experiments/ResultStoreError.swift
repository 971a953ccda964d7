import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// The result store cannot be opened, read or written; names the file.
public struct ResultStoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    init(path: String, action: String, underlying: any Error) {
        self.path = path
        let reason = "\(underlying)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(underlying)"
        message = "cannot \(action) the result store at \(path): \(Self.plain(reason))"
    }

    init(path: String, action: String, problem: String) {
        self.path = path
        message = "cannot \(action) the result store at \(path): \(problem)"
    }

    public var description: String { message }

    /// SQLite's words for a user ("SQLite error 26: file is not a database - while executing `…`" is
    /// "it is not a result store (not an SQLite database)"), without the statement it was running.
    static func plain(_ reason: String) -> String {
        if reason.contains("SQLite error 26") { return "it is not a result store (not an SQLite database)" }
        if reason.contains("SQLite error 14") { return "the file cannot be opened (a folder, or a folder that does not exist?)" }
        if reason.contains("SQLite error 8") { return "it is read-only" }
        if reason.contains("SQLite error 13") { return "the disk is full" }
        if let statement = reason.range(of: " - while executing") { return String(reason[..<statement.lowerBound]) }
        return reason
    }
}
