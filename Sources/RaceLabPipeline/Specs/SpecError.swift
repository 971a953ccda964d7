import RaceLabCore

/// What is wrong with an experiment spec, said in one line that names the file and the field:
/// `experiments/x.yaml: field workers[2]: must be at most 64 (got 100)`.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec file as the user named it.
    public var file: String
    /// The field's path (`workers[2]`, `quick.repetitions`), or nil for a problem with the whole file.
    public var field: String?
    /// The problem, without the file or field.
    public var problem: String

    /// A problem with one field's value.
    public init(file: String, field: String?, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    /// A field the format does not know, with the nearest known name when there is a close one.
    package static func unknownField(file: String, path: String, name: String, known: [String]) -> SpecError {
        let nearest = known.map { ($0, editDistance($0.lowercased(), name.lowercased())) }.min { $0.1 < $1.1 }
        let hint = nearest.flatMap { $0.1 <= 2 ? " (did you mean '\($0.0)'?)" : nil } ?? " (known: \(known.joined(separator: ", ")))"
        return SpecError(file: file, field: nil, problem: "unknown field '\(path)'\(hint)")
    }

    /// A required field that is not there.
    package static func missingField(file: String, name: String) -> SpecError {
        SpecError(file: file, field: nil, problem: "missing required field '\(name)'")
    }

    public var message: String {
        if let field { return "\(file): field \(field): \(problem)" }
        return "\(file): \(problem)"
    }

    public var description: String { message }

    /// Levenshtein distance, for "did you mean".
    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
