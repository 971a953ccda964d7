import Foundation
import Postgres
import RaceLabCore
import Yams

extension UserStrategy {
    static let fields = ["name", "description", "isolation", "steps"]
    static let stepFields = ["sql", "none", "think"]
    /// The `none:` outcomes a file may name.
    static let noneOutcomes: [(name: String, attempt: PurchaseAttempt)] = [
        ("soldOut", .soldOut), ("conflict", .conflict), ("noSuchItem", .noSuchItem),
    ]
    /// Statements that would end or nest the transaction the steps run in.
    static let transactionControl = ["BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "PREPARE"]

    /// Reads a strategy file; `file` names it in errors (default: the path as given).
    ///
    /// - Throws: ``SpecError`` naming the file and, for a step, the step (`step 2: …`).
    public static func load(contentsOf url: URL, file: String? = nil) throws(SpecError) -> UserStrategy {
        let name = file ?? url.path
        let text = try SpecReader.text(contentsOf: url, file: name)
        return try parse(text, file: name)
    }

    /// Parses a strategy file strictly: its form, its names and its parameters' syntax. Whether
    /// PostgreSQL accepts the SQL, and whether every parameter is known, ``StrategyRegistry`` checks
    /// against the server before a run.
    public static func parse(_ text: String, file: String) throws(SpecError) -> UserStrategy {
        let reader = SpecReader(file: file)
        let mapping = try reader.mapping(text, shape: "name: …, steps: …")
        let values = try reader.fields(of: mapping, path: "", known: fields)
        guard let nameNode = values["name"] else { throw SpecError.missingField(file: file, name: "name") }
        let nameText = try reader.string(nameNode, path: "name")
        guard let name = StrategyName(rawValue: nameText) else {
            throw SpecError(file: file, field: "name", problem: StrategyName.problem(with: nameText) ?? "invalid")
        }
        guard !name.isBuiltIn else {
            throw SpecError(
                file: file,
                field: "name",
                problem:
                    "'\(name)' is a built-in strategy; give yours another name (built-ins: \(StrategyName.builtIn.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let description = try values["description"].map { node throws(SpecError) in try reader.string(node, path: "description") }
        let isolation = try values["isolation"].map { node throws(SpecError) in try reader.choice(node, path: "isolation", of: IsolationLevel.self) }
        guard let stepsNode = values["steps"] else { throw SpecError.missingField(file: file, name: "steps") }
        guard case .sequence(let sequence) = stepsNode, !sequence.isEmpty else {
            throw SpecError(file: file, field: "steps", problem: "expected a non-empty list of steps (- sql: … or - think: true)")
        }
        let version = Self.version(of: text)
        var steps: [Step] = []
        for (offset, node) in sequence.enumerated() {
            let label = "step \(offset + 1)"
            func fail(_ problem: String) -> SpecError { SpecError(file: file, field: nil, problem: "\(label): \(problem)") }
            guard case .mapping(let stepMapping) = node else { throw fail("expected a mapping (sql: … or think: true)\(SpecReader.got(node))") }
            let step: [String: Node]
            do {
                step = try reader.fields(of: stepMapping, path: "", known: stepFields)
            } catch {
                throw fail(error.problem)
            }
            switch (step["sql"], step["think"]) {
            case (nil, nil):
                throw fail("needs sql: (a statement) or think: true")
            case (.some, .some):
                throw fail("has both sql: and think:; make them two steps")
            case (nil, let think?):
                guard step["none"] == nil else { throw fail("none: belongs to a sql: step") }
                guard case .scalar(let scalar) = think, Node.scalar(scalar).tag.rawValue == Tag.Name.bool.rawValue,
                    scalar.string.lowercased() == "true"
                else {
                    throw fail("think: takes true (the --think-ms pause goes here)\(SpecReader.got(think))")
                }
                guard !steps.contains(.think) else { throw fail("the think pause appears twice; keep one") }
                steps.append(.think)
            case (let sqlNode?, nil):
                guard case .scalar(let scalar) = sqlNode, Node.scalar(scalar).tag.rawValue == Tag.Name.str.rawValue,
                    !scalar.string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                else {
                    throw fail("sql: expects a statement\(SpecReader.got(sqlNode))")
                }
                let sql = scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
                let firstWord = sql.prefix { $0.isLetter }.uppercased()
                guard !transactionControl.contains(firstWord) else {
                    throw fail("\(firstWord) is transaction control: the steps already run in one transaction that RaceLab begins and ends")
                }
                let compiled: NamedParameterSQL
                do {
                    compiled = try NamedParameterSQL(sql)
                } catch {
                    throw fail("sql: \(error)")
                }
                var none: PurchaseAttempt?
                if let noneNode = step["none"] {
                    let text: String
                    do { text = try reader.string(noneNode, path: "none") } catch { throw fail("none: expects a word\(SpecReader.got(noneNode))") }
                    guard let outcome = noneOutcomes.first(where: { $0.name == text }) else {
                        throw fail("none: must be \(noneOutcomes.map(\.name).joined(separator: ", ")) (got '\(text.prefix(40))')")
                    }
                    none = outcome.attempt
                }
                let statement = PreparedStatement(name: "u_\(version)_\(offset + 1)", sql: compiled.positional)
                steps.append(.sql(SQLStep(sql: sql, compiled: compiled, none: none, statement: statement)))
            }
        }
        guard steps.contains(where: { if case .sql = $0 { true } else { false } }) else {
            throw SpecError(file: file, field: "steps", problem: "has no sql: step; a strategy needs at least one statement")
        }
        return UserStrategy(name: name, description: description, isolation: isolation, steps: steps, source: text, version: version)
    }

    /// The position of a `SQLStep` in the file's step list, 1-based, for messages.
    func stepNumber(of statement: PreparedStatement) -> Int {
        (steps.firstIndex { if case .sql(let step) = $0 { step.statement == statement } else { false } } ?? 0) + 1
    }
}
