import ArgumentParser
import Foundation
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline

/// `--strategy-file` and `--isolation`, shared by the commands that fire stampedes.
struct StrategyFileOptions: ParsableArguments {
    @Option(
        name: .customLong("strategy-file"),
        help: ArgumentHelp(
            "A strategy written as SQL steps in YAML (see strategies/); repeatable. --strategy then names it, and all includes it.",
            valueName: "file"
        )
    )
    var strategyFiles: [String] = []

    @Option(
        help: ArgumentHelp(
            "read-committed, repeatable-read or serializable: the level every strategy's transactions run at (default: each strategy's own, read-committed for the built-ins).",
            valueName: "level"
        )
    )
    var isolation: IsolationLevel?

    /// The files, read and checked for form (not yet against PostgreSQL), each with the path as given.
    ///
    /// - Throws: `ValidationError` naming the file and the step.
    func load() throws -> [(file: String, strategy: UserStrategy)] {
        try Self.load(strategyFiles)
    }

    /// `files`, read and checked for form, each with the path as given.
    static func load(_ files: [String]) throws -> [(file: String, strategy: UserStrategy)] {
        var loaded: [(file: String, strategy: UserStrategy)] = []
        for file in files {
            let strategy: UserStrategy
            do {
                strategy = try UserStrategy.load(contentsOf: URL(fileURLWithPath: file), file: file)
            } catch {
                throw ValidationError(error.message)
            }
            if let clash = loaded.first(where: { $0.strategy.name == strategy.name }) {
                throw ValidationError("\(file): defines '\(strategy.name)', as \(clash.file) does; give one another name")
            }
            loaded.append((file, strategy))
        }
        return loaded
    }

    /// The built-ins and the strategies of the files.
    func catalog() throws -> StrategyCatalog {
        StrategyCatalog(userStrategies: try load().map(\.strategy))
    }

    /// The strategies `choice` names: one, or `all` of `catalog`'s.
    ///
    /// - Throws: `ValidationError` listing the known names.
    static func select(_ choice: String, from catalog: StrategyCatalog, option: String = "--strategy") throws -> [any PurchaseStrategy] {
        if choice == "all" { return catalog.all }
        guard let name = StrategyName(rawValue: choice), let strategy = catalog.strategy(named: name) else {
            throw ValidationError("\(option): unknown strategy '\(choice.prefix(40))' (known: \(catalog.namesList), or all)")
        }
        return [strategy]
    }
}

extension IsolationLevel: ExpressibleByArgument {}

/// `--format`: a table for people, JSON for scripts.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
    case table, json
}
