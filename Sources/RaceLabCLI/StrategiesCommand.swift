import ArgumentParser
import Foundation
import Postgres
import RaceLabCommandLine
import RaceLabCore
import RaceLabExperiments
import RaceLabLab
import RaceLabPipeline
import Sandbox

/// `racelab strategies`: the strategies a run can name, one line each.
struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the strategies: the built-ins, those of --strategy-file, and those registered in the database.",
        discussion: """
            Registered strategies (from earlier runs with --strategy-file) are listed when PostgreSQL is configured \
            (RACELAB_POSTGRES_URL, --postgres-url) or the lab's own server is running; nothing is started for this.
            """
    )

    @OptionGroup var lab: LabOptions

    @Option(
        name: .customLong("strategy-file"),
        help: ArgumentHelp("A strategy written as SQL steps in YAML, to check and list; repeatable.", valueName: "file")
    )
    var strategyFiles: [String] = []

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    func validate() throws {
        _ = try StrategyFileOptions.load(strategyFiles)
    }

    func run() throws {
        let files = try StrategyFileOptions.load(strategyFiles)
        var listed: [(strategy: any PurchaseStrategy, source: String)] = StrategyCatalog.builtIns.map { ($0, "built-in") }
        var registered: [UserStrategy] = []
        if let url = databaseURL() {
            let db = try PostgresConnection(url: url, connectTimeoutSeconds: 3, applicationName: "racelab-strategies")
            try Schema.ensure(on: db)
            for (file, strategy) in files { try StrategyRegistry.validate(strategy, file: file, on: db) }
            registered = try StrategyRegistry.all(on: db)
        }
        for (file, strategy) in files { listed.append((strategy, file)) }
        for strategy in registered.sorted(by: { $0.name < $1.name }) where !files.contains(where: { $0.strategy.name == strategy.name }) {
            listed.append((strategy, "registered"))
        }

        switch format {
        case .table:
            let rows = listed.map { entry -> [String] in
                let traits = entry.strategy.traits
                var needs: [String] = []
                if traits.delivery == .serializedByItem { needs.append("shard queues") }
                if traits.stock == .unitRows { needs.append("unit rows") }
                if traits.batches { needs.append("batches") }
                return [
                    entry.strategy.name.rawValue, entry.source, traits.defaultIsolation.abbreviation, needs.joined(separator: ", "),
                    entry.strategy.summary,
                ]
            }
            let table = TextTable(header: ["strategy", "from", "isolation", "needs", "what it does"], rows: rows)
            print(table.lines().joined(separator: "\n"))
        case .json:
            let documents = listed.map { entry -> [String: Any] in
                let traits = entry.strategy.traits
                var document: [String: Any] = [
                    "name": entry.strategy.name.rawValue, "builtIn": entry.strategy.name.isBuiltIn, "from": entry.source,
                    "summary": entry.strategy.summary, "tradeoff": entry.strategy.tradeoff, "isolation": traits.defaultIsolation.rawValue,
                    "delivery": traits.delivery.rawValue, "stock": traits.stock.rawValue, "batches": traits.batches,
                    "expectation": traits.expectation.rawValue,
                ]
                if let user = entry.strategy as? UserStrategy { document["version"] = user.version }
                return document
            }
            let data = try JSONSerialization.data(withJSONObject: documents, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// The configured PostgreSQL, or the lab's own when it is running; nil when neither (nothing is started).
    private func databaseURL() -> String? {
        if let url = lab.postgresURL ?? LabOptions.environment("RACELAB_POSTGRES_URL") { return url }
        let status = Sandbox(home: lab.homeURL, logger: lab.makeLogger(label: "racelab.strategies")).status(probes: LabServers.probes)
        return status.postgres.isRunning ? status.postgres.url : nil
    }
}
