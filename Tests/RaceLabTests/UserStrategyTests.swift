import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

/// Strategy files: what the loader accepts, and the one line it gives for each mistake.
@Suite struct UserStrategyTests {
    static let conditionalUpdate = """
        name: conditional-update
        description: check and write in one statement
        isolation: repeatable-read
        steps:
          - sql: UPDATE items SET stock = stock - :quantity WHERE id = :item AND stock >= :quantity RETURNING stock
            none: soldOut
          - think: true
          - sql: INSERT INTO orders (request_id, run_id, item_id, buyer_id, quantity, strategy) VALUES (:request, :run, :item, :buyer, :quantity, :strategy)
        """

    @Test func aFileBecomesSQLStepsWithTheirOutcomesAndParameters() throws {
        let strategy = try UserStrategy.parse(Self.conditionalUpdate, file: "c.yaml")
        #expect(strategy.name.rawValue == "conditional-update")
        #expect(strategy.isolation == .repeatableRead)
        #expect(strategy.traits.defaultIsolation == .repeatableRead)
        #expect(strategy.traits.expectation == .unknown)
        #expect(strategy.steps.count == 3)
        #expect(strategy.steps[1] == .think)
        let steps = strategy.sqlSteps
        #expect(steps[0].none == .soldOut)
        #expect(steps[0].compiled.positional == "UPDATE items SET stock = stock - $1 WHERE id = $2 AND stock >= $1 RETURNING stock")
        #expect(steps[1].none == nil)
        #expect(steps[1].compiled.parameters == ["request", "run", "item", "buyer", "quantity", "strategy"])
        // Prepared statement names are unique per version and step.
        #expect(steps[0].statement.name == "u_\(strategy.version)_1")
        #expect(steps[1].statement.name == "u_\(strategy.version)_3")
        #expect(strategy.summary == "check and write in one statement")
    }

    @Test func theVersionFollowsTheTextAndNothingElse() throws {
        let one = try UserStrategy.parse(Self.conditionalUpdate, file: "a.yaml")
        let same = try UserStrategy.parse(Self.conditionalUpdate, file: "b.yaml")
        let changed = try UserStrategy.parse(Self.conditionalUpdate + "\n", file: "a.yaml")
        #expect(one.version == same.version)
        #expect(one.version != changed.version)
        #expect(one.version.count == 16 && PurchaseRequest.isVersion(one.version))
    }

    @Test(arguments: [
        ("name: x\n", "x.yaml: missing required field 'steps'"),
        ("steps:\n  - sql: SELECT 1\n", "x.yaml: missing required field 'name'"),
        ("name: x\nstepz:\n  - sql: SELECT 1\n", "unknown field 'stepz' (did you mean 'steps'?)"),
        ("name: naive\nsteps:\n  - sql: SELECT 1\n", "field name: 'naive' is a built-in strategy"),
        ("name: my strategy\nsteps:\n  - sql: SELECT 1\n", "field name: a strategy name is letters"),
        ("name: x\nsteps: []\n", "field steps: expected a non-empty list"),
        ("name: x\nsteps:\n  - think: true\n", "field steps: has no sql: step"),
        ("name: x\nsteps:\n  - sql: SELECT 1\n    none: sold-out\n", "x.yaml: step 1: none: must be soldOut, conflict, noSuchItem (got 'sold-out')"),
        ("name: x\nsteps:\n  - sql: SELECT 1\n  - think: yes please\n", "step 2: think: takes true"),
        ("name: x\nsteps:\n  - sql: SELECT 1\n  - think: true\n  - think: true\n", "step 3: the think pause appears twice"),
        ("name: x\nsteps:\n  - sql: SELECT 1\n    think: true\n", "step 1: has both sql: and think:"),
        ("name: x\nsteps:\n  - sqll: SELECT 1\n", "step 1: unknown field 'sqll' (did you mean 'sql'?)"),
        ("name: x\nsteps:\n  - sql: COMMIT\n", "step 1: COMMIT is transaction control"),
        ("name: x\nsteps:\n  - sql: SELECT $1\n", "step 1: sql: uses a positional placeholder"),
        ("name: x\nsteps:\n  - sql: SELECT 'open\n", "step 1: sql: unterminated string constant"),
        ("name: x\nsteps:\n  - sql: ''\n", "step 1: sql: expects a statement"),
        ("name: x\nsteps:\n  - SELECT 1\n", "step 1: expected a mapping"),
        (
            "name: x\nisolation: snapshot\nsteps:\n  - sql: SELECT 1\n",
            "field isolation: expected one of read-committed, repeatable-read, serializable"
        ),
        ("name: [x\n", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping of fields"),
    ])
    func eachMistakeIsOneLineNamingTheFileAndTheStep(text: String, expected: String) {
        #expect {
            _ = try UserStrategy.parse(text, file: "x.yaml")
        } throws: { error in
            let message = (error as? SpecError)?.message ?? ""
            return message.contains(expected) && message.hasPrefix("x.yaml: ") && !message.contains("\n")
        }
    }

    @Test func aMissingFileOrAFolderIsNamed() {
        #expect {
            _ = try UserStrategy.load(contentsOf: URL(fileURLWithPath: "/nonexistent/s.yaml"), file: "s.yaml")
        } throws: { error in
            (error as? SpecError)?.message == "s.yaml: no such file"
        }
        #expect {
            _ = try UserStrategy.load(contentsOf: URL(fileURLWithPath: NSTemporaryDirectory()), file: "tmp")
        } throws: { error in
            (error as? SpecError)?.message == "tmp: is a directory, not a file"
        }
    }

    @Test func theShippedExamplesParse() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("strategies")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 5)
        for file in files {
            let strategy = try UserStrategy.load(contentsOf: folder.appendingPathComponent(file), file: file)
            #expect(strategy.name.rawValue == String(file.dropLast(".yaml".count)), "\(file) names its strategy after itself")
        }
    }

    @Test func theCatalogueListsBuiltInsFirstThenFilesByName() throws {
        let b = try UserStrategy.parse("name: b-mine\nsteps:\n  - sql: SELECT 1\n", file: "b")
        let a = try UserStrategy.parse("name: a-mine\nsteps:\n  - sql: SELECT 1\n", file: "a")
        let catalog = StrategyCatalog(userStrategies: [b, a])
        #expect(catalog.names == StrategyName.builtIn + [a.name, b.name])
        #expect(catalog.strategy(named: a.name) as? UserStrategy == a)
        #expect(catalog.strategy(named: .skipLocked)?.traits.stock == .unitRows)
        #expect(catalog.strategy(named: .serialized)?.traits.delivery == .serializedByItem)
        #expect(catalog.strategy(named: .batched)?.traits.batches == true)
        #expect(StrategyName(rawValue: "nope") != nil && catalog.strategy(named: StrategyName(rawValue: "nope")!) == nil)
    }
}

/// Strategy names and the undersold count.
@Suite struct StrategyNameTests {
    @Test(arguments: ["", "-x", ".x", "a b", "ünïcode", String(repeating: "x", count: 41), "semi;colon"])
    func badNamesAreRefused(text: String) {
        #expect(StrategyName(rawValue: text) == nil)
        #expect(StrategyName.problem(with: text) != nil)
    }

    @Test func builtInsSortInCatalogueOrderBeforeOthers() throws {
        let names = [try #require(StrategyName(rawValue: "zz")), .serialized, try #require(StrategyName(rawValue: "aa")), .naive]
        #expect(names.sorted() == [.naive, .serialized, StrategyName(rawValue: "aa")!, StrategyName(rawValue: "zz")!])
    }

    @Test func undersoldCountsWhatTurnedAwayBuyersCouldHaveBought() {
        func item(final: Int, turnedAway: Int) -> RunObservation.Item {
            RunObservation.Item(itemId: 1, initialStock: 10, finalStock: final, sold: 10 - final, orders: 10 - final, turnedAway: turnedAway)
        }
        #expect(item(final: 0, turnedAway: 5).undersold(quantity: 1) == 0)  // sold out: nothing left
        #expect(item(final: 3, turnedAway: 0).undersold(quantity: 1) == 0)  // nobody was turned away
        #expect(item(final: 3, turnedAway: 5).undersold(quantity: 1) == 3)
        #expect(item(final: 3, turnedAway: 2).undersold(quantity: 1) == 2)  // only as many as asked
        #expect(item(final: 3, turnedAway: 5).undersold(quantity: 2) == 2)  // whole quantities only
        #expect(item(final: 1, turnedAway: 5).undersold(quantity: 2) == 0)  // too little for anyone
    }
}
