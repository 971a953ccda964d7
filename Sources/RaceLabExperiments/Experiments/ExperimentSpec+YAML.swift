import Foundation
import Postgres
import RaceLabCore
import RaceLabLab
import RaceLabPipeline
import Yams

extension ExperimentSpec {
    /// The top-level fields of the format.
    static let fields = [
        "name", "description", "strategies", "strategyFiles", "buyers", "stock", "items", "workers", "consumers", "thinkMs", "isolation",
        "repetitions", "seed", "trace", "quick",
    ]
    /// The fields a `quick:` section may override.
    static let quickFields = ["strategies", "buyers", "stock", "items", "workers", "consumers", "thinkMs", "isolation", "repetitions"]
    static let repetitionsRange = 1...1000

    /// Reads and checks the spec file at `url`; `file` names it in errors (default: the path as given).
    ///
    /// - Throws: ``SpecError`` naming the file and the field, for a file that cannot be read too.
    public static func load(contentsOf url: URL, file: String? = nil) throws(SpecError) -> ExperimentSpec {
        let name = file ?? url.path
        let text = try SpecReader.text(contentsOf: url, file: name)
        return try parse(text, file: name, folder: url.deletingLastPathComponent())
    }

    /// Parses a spec strictly: unknown fields, wrong types, empty lists, duplicates, out-of-range values
    /// and unknown strategies are errors, each naming its field (`workers[2]`, `quick.repetitions`).
    ///
    /// - Parameters:
    ///   - file: how errors name the spec (`experiments/contention.yaml`).
    ///   - folder: where `strategyFiles:` paths start from (the spec's folder); nil: the current directory.
    public static func parse(_ text: String, file: String, folder: URL? = nil) throws(SpecError) -> ExperimentSpec {
        let reader = SpecReader(file: file)
        let mapping = try reader.mapping(text, shape: "name: …, strategies: …")
        let values = try reader.fields(of: mapping, path: "", known: fields)
        func required(_ name: String) throws(SpecError) -> Node {
            guard let node = values[name] else { throw SpecError.missingField(file: file, name: name) }
            return node
        }

        let name = try reader.name(try required("name"))
        let description = try values["description"].map { node throws(SpecError) in try reader.string(node, path: "description") }
        var strategyFiles: [String] = []
        var userStrategies: [UserStrategy] = []
        if let node = values["strategyFiles"] {
            for (path, element) in try reader.elements(node, path: "strategyFiles", expected: "a file name or a list of them") {
                let relative = try reader.string(element, path: path)
                let url =
                    relative.hasPrefix("/")
                    ? URL(fileURLWithPath: relative)
                    : (folder ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).appendingPathComponent(relative)
                let strategy = try UserStrategy.load(contentsOf: url, file: relative)
                if let clash = userStrategies.first(where: { $0.name == strategy.name }) {
                    throw reader.fail(path, "defines '\(strategy.name)', as \(strategyFiles[userStrategies.firstIndex(of: clash) ?? 0]) does")
                }
                strategyFiles.append(relative)
                userStrategies.append(strategy)
            }
        }
        let known = StrategyName.builtIn + userStrategies.map(\.name)
        var spec = ExperimentSpec(
            name: name,
            description: description,
            strategies: try reader.strategies(try required("strategies"), path: "strategies", known: known),
            buyers: try reader.knob(try required("buyers"), path: "buyers"),
            stock: try reader.knob(try required("stock"), path: "stock")
        )
        if let node = values["items"] { spec.items = try reader.knob(node, path: "items") }
        if let node = values["workers"] { spec.workers = try reader.knob(node, path: "workers") }
        if let node = values["consumers"] { spec.consumers = try reader.knob(node, path: "consumers") }
        if let node = values["thinkMs"] { spec.thinkMs = try reader.knob(node, path: "thinkMs") }
        if let node = values["isolation"] { spec.isolation = try reader.isolationLevels(node, path: "isolation") }
        spec.strategyFiles = strategyFiles
        spec.userStrategies = userStrategies
        if let node = values["repetitions"] { spec.repetitions = try reader.repetitions(node, path: "repetitions") }
        if let node = values["seed"] {
            let seed = try reader.integer(node, path: "seed")
            guard seed >= 0 else { throw SpecError(file: file, field: "seed", problem: "must not be negative (got \(seed))") }
            spec.seed = UInt64(seed)
        }
        if let node = values["trace"] { spec.trace = try reader.bool(node, path: "trace") }
        if let node = values["quick"] {
            guard case .mapping(let quickMapping) = node else {
                throw SpecError(file: file, field: "quick", problem: "expected a mapping of overrides (workers: [1, 4], repetitions: 2)")
            }
            let quick = try reader.fields(of: quickMapping, path: "quick.", known: quickFields)
            var overrides = QuickOverrides()
            if let node = quick["strategies"] { overrides.strategies = try reader.strategies(node, path: "quick.strategies", known: known) }
            if let node = quick["buyers"] { overrides.buyers = try reader.knob(node, path: "quick.buyers") }
            if let node = quick["stock"] { overrides.stock = try reader.knob(node, path: "quick.stock") }
            if let node = quick["items"] { overrides.items = try reader.knob(node, path: "quick.items") }
            if let node = quick["workers"] { overrides.workers = try reader.knob(node, path: "quick.workers") }
            if let node = quick["consumers"] { overrides.consumers = try reader.knob(node, path: "quick.consumers") }
            if let node = quick["thinkMs"] { overrides.thinkMs = try reader.knob(node, path: "quick.thinkMs") }
            if let node = quick["isolation"] { overrides.isolation = try reader.isolationLevels(node, path: "quick.isolation") }
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
        func levelList(_ values: [IsolationLevel]) -> String { "[" + values.map(\.rawValue).joined(separator: ", ") + "]" }
        var lines = ["name: \(name)"]
        if let description { lines.append("description: \(Self.quoted(description))") }
        lines += [
            "strategies: \(strategyList(strategies))"
        ]
        if !strategyFiles.isEmpty { lines.append("strategyFiles: [" + strategyFiles.map(Self.quoted).joined(separator: ", ") + "]") }
        lines += [
            "buyers: \(list(buyers))",
            "stock: \(list(stock))",
            "items: \(list(items))",
            "workers: \(list(workers))",
            "consumers: \(list(consumers))",
            "thinkMs: \(list(thinkMs))",
        ]
        if let isolation { lines.append("isolation: \(levelList(isolation))") }
        lines += [
            "repetitions: \(repetitions)",
            "seed: \(seed)",
        ]
        if trace { lines.append("trace: true") }
        if let quick {
            lines.append("quick:")
            if let value = quick.strategies { lines.append("  strategies: \(strategyList(value))") }
            if let value = quick.buyers { lines.append("  buyers: \(list(value))") }
            if let value = quick.stock { lines.append("  stock: \(list(value))") }
            if let value = quick.items { lines.append("  items: \(list(value))") }
            if let value = quick.workers { lines.append("  workers: \(list(value))") }
            if let value = quick.consumers { lines.append("  consumers: \(list(value))") }
            if let value = quick.thinkMs { lines.append("  thinkMs: \(list(value))") }
            if let value = quick.isolation { lines.append("  isolation: \(levelList(value))") }
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
