import Foundation
import Postgres
import RaceLabCore
import Yams

/// Reads typed values out of YAML nodes, throwing ``SpecError``s that name the file and the field.
package struct SpecReader {
    package let file: String

    package init(file: String) {
        self.file = file
    }

    /// The text of the file at `url`; `file` names it in the error.
    package static func text(contentsOf url: URL, file: String) throws(SpecError) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SpecError(file: file, field: nil, problem: "is a directory, not a file")
        }
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "cannot read it as UTF-8 text" : "no such file"
            throw SpecError(file: file, field: nil, problem: reason)
        }
    }

    /// The top-level mapping of a YAML document; `shape` says what was expected (`name: …, steps: …`).
    package func mapping(_ text: String, shape: String) throws(SpecError) -> Node.Mapping {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SpecError(file: file, field: nil, problem: describe(error))
        }
        guard case .mapping(let mapping)? = root else {
            throw SpecError(file: file, field: nil, problem: "expected a mapping of fields (\(shape)), not YAML of another shape")
        }
        return mapping
    }

    package func fail(_ path: String, _ problem: String) -> SpecError {
        SpecError(file: file, field: path, problem: problem)
    }

    /// The mapping's entries by key, refusing keys that are not strings or not in `known`.
    package func fields(of mapping: Node.Mapping, path: String, known: [String]) throws(SpecError) -> [String: Node] {
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw SpecError(file: file, field: nil, problem: "field names must be plain words (\(path.isEmpty ? "top level" : path))")
            }
            guard known.contains(scalar.string) else {
                throw SpecError.unknownField(file: file, path: path + scalar.string, name: scalar.string, known: known)
            }
            values[scalar.string] = value
        }
        return values
    }

    package func integer(_ node: Node, path: String) throws(SpecError) -> Int {
        guard case .scalar(let scalar) = node, Node.scalar(scalar).tag.rawValue == Tag.Name.int.rawValue, let value = Int.construct(from: scalar)
        else {
            throw fail(path, "expected an integer\(Self.got(node))")
        }
        return value
    }

    package func bool(_ node: Node, path: String) throws(SpecError) -> Bool {
        guard case .scalar(let scalar) = node, Node.scalar(scalar).tag.rawValue == Tag.Name.bool.rawValue, let value = Bool.construct(from: scalar)
        else {
            throw fail(path, "expected true or false\(Self.got(node))")
        }
        return value
    }

    package func string(_ node: Node, path: String) throws(SpecError) -> String {
        guard case .scalar(let scalar) = node, Node.scalar(scalar).tag.rawValue != Tag.Name.null.rawValue else {
            throw fail(path, "expected a string\(Self.got(node))")
        }
        return scalar.string
    }

    package func name(_ node: Node) throws(SpecError) -> String {
        let name = try string(node, path: "name")
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }), !name.hasPrefix(".") else {
            throw fail("name", "must be letters, digits, '-', '_' or '.' (it names the report folder; got '\(name)')")
        }
        return name
    }

    /// The node's elements: a sequence's, or a lone scalar as a one-element list.
    package func elements(_ node: Node, path: String, expected: String) throws(SpecError) -> [(path: String, node: Node)] {
        switch node {
        case .scalar(let scalar) where Node.scalar(scalar).tag.rawValue != Tag.Name.null.rawValue:
            return [(path, node)]
        case .sequence(let sequence):
            guard !sequence.isEmpty else { throw fail(path, "must not be empty") }
            return sequence.enumerated().map { ("\(path)[\($0.offset)]", $0.element) }
        default:
            throw fail(path, "expected \(expected)\(Self.got(node))")
        }
    }

    /// A knob: integers within what a stampede accepts (``StampedeConfiguration/problem``), no duplicates.
    package func knob(_ node: Node, path: String) throws(SpecError) -> [Int] {
        let knob = path.split(separator: ".").last.map(String.init) ?? path
        var values: [Int] = []
        for (elementPath, element) in try elements(node, path: path, expected: "an integer or a list of integers") {
            let value = try integer(element, path: elementPath)
            if let problem = Self.rangeProblem(knob: knob, value: value) { throw fail(elementPath, problem) }
            if let first = values.firstIndex(of: value) {
                throw fail(elementPath, "\(value) is listed twice (also at \(path)[\(first)])")
            }
            values.append(value)
        }
        return values
    }

    /// `all` (every strategy in `known`) or a list of names from `known`, none twice.
    package func strategies(_ node: Node, path: String, known: [StrategyName]) throws(SpecError) -> [StrategyName] {
        let knownList = known.map(\.rawValue).joined(separator: ", ")
        if case .scalar(let scalar) = node, scalar.string == "all" { return known }
        var strategies: [StrategyName] = []
        for (elementPath, element) in try elements(node, path: path, expected: "\"all\" or a list of strategies") {
            guard case .scalar(let scalar) = element, Node.scalar(scalar).tag.rawValue == Tag.Name.str.rawValue else {
                throw fail(elementPath, "expected a strategy name\(Self.got(element))")
            }
            guard let strategy = StrategyName(rawValue: scalar.string), known.contains(strategy) else {
                throw fail(elementPath, "unknown strategy '\(scalar.string.prefix(40))' (known: \(knownList), or all)")
            }
            guard !strategies.contains(strategy) else { throw fail(elementPath, "\(strategy.rawValue) is listed twice") }
            strategies.append(strategy)
        }
        return strategies
    }

    /// Isolation levels, none twice.
    package func isolationLevels(_ node: Node, path: String) throws(SpecError) -> [IsolationLevel] {
        var levels: [IsolationLevel] = []
        for (elementPath, element) in try elements(node, path: path, expected: "an isolation level or a list of them") {
            let level = try choice(element, path: elementPath, of: IsolationLevel.self)
            guard !levels.contains(level) else { throw fail(elementPath, "\(level.rawValue) is listed twice") }
            levels.append(level)
        }
        return levels
    }

    /// One of `choices`' raw values.
    package func choice<Choice: RawRepresentable & CaseIterable>(_ node: Node, path: String, of type: Choice.Type) throws(SpecError) -> Choice
    where Choice.RawValue == String {
        let text = try string(node, path: path)
        guard let value = Choice(rawValue: text) else {
            throw fail(path, "expected one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))\(Self.got(node))")
        }
        return value
    }

    /// The range check `racelab run` applies to the same knob, its message without the option name.
    package static func rangeProblem(knob: String, value: Int) -> String? {
        var configuration = StampedeConfiguration(buyers: 1, stock: 0, items: 1, workers: 0, consumersPerWorker: 1, thinkMs: 0)
        switch knob {
        case "buyers": configuration.buyers = value
        case "stock": configuration.stock = value
        case "items": configuration.items = value
        case "workers": configuration.workers = value
        case "consumers": configuration.consumersPerWorker = value
        case "thinkMs": configuration.thinkMs = value
        default: return nil
        }
        // "--workers must be at most 64 (got 100)" → "must be at most 64 (got 100)"
        return configuration.problem.map { problem in
            problem.hasPrefix("--") ? String(problem.drop { $0 != " " }.dropFirst()) : problem
        }
    }

    /// ", got a string" and the like, to say what was found instead.
    package static func got(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            switch Node.scalar(scalar).tag.rawValue {
            case Tag.Name.null.rawValue: return ", got nothing"
            case Tag.Name.str.rawValue: return ", got a string ('\(scalar.string.prefix(40))')"
            case Tag.Name.float.rawValue: return ", got a number with a fraction (\(scalar.string))"
            case Tag.Name.bool.rawValue: return ", got a boolean (\(scalar.string))"
            case Tag.Name.int.rawValue: return ", got \(scalar.string)"
            default: return ", got '\(scalar.string.prefix(40))'"
            }
        case .sequence: return ", got a list"
        case .mapping: return ", got a mapping"
        case .alias: return ", got an alias"
        }
    }

    /// A YAML syntax error in one line, with where it is.
    package func describe(_ error: any Error) -> String {
        guard let yaml = error as? YamlError else { return "not valid YAML: \(error)" }
        switch yaml {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return "not valid YAML: \(problem) (line \(mark.line), column \(mark.column))"
        case .duplicatedKeysInMapping(let duplicates, _):
            return "a field appears more than once (\(duplicates.joined(separator: ", ")))"
        default:
            let text = "\(yaml)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(yaml)"
            return "not valid YAML: \(text)"
        }
    }
}
