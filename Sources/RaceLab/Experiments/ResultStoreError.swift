/// The result store cannot be opened, read or written; names the file.
public struct ResultStoreError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    init(path: String, action: String, underlying: any Error) {
        self.path = path
        let reason = "\(underlying)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(underlying)"
        message = "cannot \(action) the result store at \(path): \(reason)"
    }

    init(path: String, action: String, problem: String) {
        self.path = path
        message = "cannot \(action) the result store at \(path): \(problem)"
    }

    public var description: String { message }
}
