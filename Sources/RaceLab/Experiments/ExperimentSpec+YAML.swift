import Foundation
import Yams

extension ExperimentSpec {
    /// The top-level fields of the format.
    static let fields = [
        "name", "description", "strategies", "buyers", "stock", "items", "workers", "consumers", "thinkMs", "repetitions", "seed", "quick",
    ]
    /// The fields a `quick:` section may override.
    static let quickFields = ["strategies", "buyers", "stock", "items", "workers", "consumers", "thinkMs", "repetitions"]
    static let repetitionsRange = 1...1000

    /// Reads and checks the spec file at `url`; `file` names it in errors (default: the path as given).
    ///
    /// - Throws: ``SpecError`` naming the file and the field, for a file that cannot be read too.
    public static func load(contentsOf url: URL, file: String? = nil) throws(SpecError) -> ExperimentSpec {
        let name = file ?? url.path
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "cannot read it as UTF-8 text" : "no such file"
            throw SpecError(file: name, field: nil, problem: reason)
        }
        return try parse(text, file: name)
    }

    /// Parses a spec strictly: unknown fields, wrong types, empty lists, duplicates, out-of-range values
    /// and unknown strategies are errors, each naming its field (`workers[2]`, `quick.repetitions`).
    ///
    /// - Parameter file: how errors name the spec (`experiments/contention.yaml`).
    public static func parse(_ text: String, file: String) throws(SpecError) -> ExperimentSpec {
        let reader = SpecReader(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SpecError(file: file, field: nil, problem: reader.describe(error))
        }
        guard case .mapping(let mapping)? = root else {
            throw SpecError(file: file, field: nil, problem: "expected a mapping of fields (name: …, strategies: …), not YAML of another shape")
        }
        let values = try reader.fields(of: mapping, path: "", known: fields)
        func required(_ name: String) throws(SpecError) -> Node {
            guard let node = values[name] else { throw SpecError.missingField(file: file, name: name) }
            return node
        }

        let name = try reader.name(try required("name"))
        let description = try values["description"].map { node throws(SpecError) in try reader.string(node, path: "description") }
        var spec = ExperimentSpec(
            name: name,
            description: description,
            strategies: try reader.strategies(try required("strategies"), path: "strategies"),
            buyers: try reader.knob(try required("buyers"), path: "buyers"),
            stock: try reader.knob(try required("stock"), path: "stock")
        )
        if let node = values["items"] { spec.items = try reader.knob(node, path: "items") }
        if let node = values["workers"] { spec.workers = try reader.knob(node, path: "workers") }
        if let node = values["consumers"] { spec.consumers = try reader.knob(node, path: "consumers") }
        if let node = values["thinkMs"] { spec.thinkMs = try reader.knob(node, path: "thinkMs") }
        if let node = values["repetitions"] { spec.repetitions = try reader.repetitions(node, path: "repetitions") }
        if let node = values["seed"] {
            let seed = try reader.integer(node, path: "seed")
            guard seed >= 0 else { throw SpecError(file: file, field: "seed", problem: "must not be negative (got \(seed))") }
            spec.seed = UInt64(seed)
        }
        if let node = values["quick"] {
            guard case .mapping(let quickMapping) = node else {
                throw SpecError(file: file, field: "quick", problem: "expected a mapping of overrides (workers: [1, 4], repetitions: 2)")
            }
            let quick = try reader.fields(of: quickMapping, path: "quick.", known: quickFields)
            var overrides = QuickOverrides()
            if let node = quick["strategies"] { overrides.strategies = try reader.strategies(node, path: "quick.strategies") }
            if let node = quick["buyers"] { overrides.buyers = try reader.knob(node, path: "quick.buyers") }
            if let node = quick["stock"] { overrides.stock = try reader.knob(node, path: "quick.stock") }
            if let node = quick["items"] { overrides.items = try reader.knob(node, path: "quick.items") }
            if let node = quick["workers"] { overrides.workers = try reader.knob(node, path: "quick.workers") }
            if let node = quick["consumers"] { overrides.consumers = try reader.knob(node, path: "quick.consumers") }
            if let node = quick["thinkMs"] { overrides.thinkMs = try reader.knob(node, path: "quick.thinkMs") }
            if let node = quick["repetitions"] { overrides.repetitions = try reader.repetitions(node, path: "quick.repetitions") }
            spec.quick = overrides
        }
        return spec
    }

    /// The spec as canonical YAML (every field spelled out, lists in flow style), which ``parse(_:file:)``
    /// reads back to an equal spec. The result store keeps this text of the spec as it ran.
    public var yaml: String {
        func list(_ values: [Int]) -> String { "[" + values.map(String.init).joined(separator: ", ") + "]" }
        func strategyList(_ values: [StrategyName]) -> String { "[" + values.map(\.rawValue).joined(separator: ", ") + "]" }
        var lines = ["name: \(name)"]
        if let description { lines.append("description: \(Self.quoted(description))") }
        lines += [
            "strategies: \(strategyList(strategies))",
            "buyers: \(list(buyers))",
            "stock: \(list(stock))",
            "items: \(list(items))",
            "workers: \(list(workers))",
            "consumers: \(list(consumers))",
            "thinkMs: \(list(thinkMs))",
            "repetitions: \(repetitions)",
            "seed: \(seed)",
        ]
        if let quick {
            lines.append("quick:")
            if let value = quick.strategies { lines.append("  strategies: \(strategyList(value))") }
            if let value = quick.buyers { lines.append("  buyers: \(list(value))") }
            if let value = quick.stock { lines.append("  stock: \(list(value))") }
            if let value = quick.items { lines.append("  items: \(list(value))") }
            if let value = quick.workers { lines.append("  workers: \(list(value))") }
            if let value = quick.consumers { lines.append("  consumers: \(list(value))") }
            if let value = quick.thinkMs { lines.append("  thinkMs: \(list(value))") }
            if let value = quick.repetitions { lines.append("  repetitions: \(value)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A double-quoted YAML string (JSON string syntax is valid YAML).
    private static func quoted(_ text: String) -> String {
        guard let data = try? JSONEncoder().encode(text) else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Reads typed values out of YAML nodes, throwing ``SpecError``s that name the file and the field.
private struct SpecReader {
    let file: String

    func fail(_ path: String, _ problem: String) -> SpecError {
        SpecError(file: file, field: path, problem: problem)
    }

    /// The mapping's entries by key, refusing keys that are not strings or not in `known`.
    func fields(of mapping: Node.Mapping, path: String, known: [String]) throws(SpecError) -> [String: Node] {
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

    func integer(_ node: Node, path: String) throws(SpecError) -> Int {
        guard case .scalar(let scalar) = node, Node.scalar(scalar).tag.rawValue == Tag.Name.int.rawValue, let value = Int.construct(from: scalar)
        else {
            throw fail(path, "expected an integer\(Self.got(node))")
        }
        return value
    }

    func string(_ node: Node, path: String) throws(SpecError) -> String {
        guard case .scalar(let scalar) = node, Node.scalar(scalar).tag.rawValue != Tag.Name.null.rawValue else {
            throw fail(path, "expected a string\(Self.got(node))")
        }
        return scalar.string
    }

    func name(_ node: Node) throws(SpecError) -> String {
        let name = try string(node, path: "name")
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }), !name.hasPrefix(".") else {
            throw fail("name", "must be letters, digits, '-', '_' or '.' (it names the report folder; got '\(name)')")
        }
        return name
    }

    /// The node's elements: a sequence's, or a lone scalar as a one-element list.
    func elements(_ node: Node, path: String, expected: String) throws(SpecError) -> [(path: String, node: Node)] {
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
    func knob(_ node: Node, path: String) throws(SpecError) -> [Int] {
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

    func strategies(_ node: Node, path: String) throws(SpecError) -> [StrategyName] {
        let known = StrategyName.allCases.map(\.rawValue).joined(separator: ", ")
        if case .scalar(let scalar) = node, scalar.string == "all" { return StrategyName.allCases }
        var strategies: [StrategyName] = []
        for (elementPath, element) in try elements(node, path: path, expected: "\"all\" or a list of strategies") {
            guard case .scalar(let scalar) = element, Node.scalar(scalar).tag.rawValue == Tag.Name.str.rawValue else {
                throw fail(elementPath, "expected a strategy name\(Self.got(element))")
            }
            guard let strategy = StrategyName(rawValue: scalar.string) else {
                throw fail(elementPath, "unknown strategy '\(scalar.string.prefix(40))' (known: \(known), or all)")
            }
            guard !strategies.contains(strategy) else { throw fail(elementPath, "\(strategy.rawValue) is listed twice") }
            strategies.append(strategy)
        }
        return strategies
    }

    func repetitions(_ node: Node, path: String) throws(SpecError) -> Int {
        let value = try integer(node, path: path)
        let range = ExperimentSpec.repetitionsRange
        guard range.contains(value) else {
            throw fail(path, value < range.lowerBound ? "must be at least 1 (got \(value))" : "must be at most \(range.upperBound) (got \(value))")
        }
        return value
    }

    /// The range check `racelab run` applies to the same knob, its message without the option name.
    static func rangeProblem(knob: String, value: Int) -> String? {
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
    static func got(_ node: Node) -> String {
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
    func describe(_ error: any Error) -> String {
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
