import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

@Suite struct ExperimentSpecTests {
    static let contention = """
        name: contention
        description: How the strategies fare as more workers fight over one hot item.
        strategies: [naive, pessimistic, optimistic, advisory]
        buyers: [200]
        stock: [1]
        items: [1]
        workers: [1, 2, 4, 8, 16]
        consumers: [2]
        thinkMs: [5]
        repetitions: 3
        seed: 42
        quick:
          workers: [1, 4, 16]
          repetitions: 2
        """

    static let minimal = """
        name: minimal
        strategies: [naive]
        buyers: [10]
        stock: [1]
        """

    func parse(_ text: String) throws -> ExperimentSpec {
        try ExperimentSpec.parse(text, file: "experiments/x.yaml")
    }

    func error(_ text: String) -> SpecError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error as? SpecError
        }
    }

    @Test func aFullSpecParsesEveryField() throws {
        let spec = try parse(Self.contention)
        #expect(spec.name == "contention")
        #expect(spec.description == "How the strategies fare as more workers fight over one hot item.")
        #expect(spec.strategies == [.naive, .pessimistic, .optimistic, .advisory])
        #expect(spec.buyers == [200])
        #expect(spec.workers == [1, 2, 4, 8, 16])
        #expect(spec.consumers == [2])
        #expect(spec.thinkMs == [5])
        #expect(spec.repetitions == 3)
        #expect(spec.seed == 42)
        #expect(spec.quick == ExperimentSpec.QuickOverrides(workers: [1, 4, 16], repetitions: 2))
    }

    @Test func missingOptionalFieldsTakeTheirDefaults() throws {
        let spec = try parse(Self.minimal)
        #expect(spec.items == [1])
        #expect(spec.workers == [4])
        #expect(spec.consumers == [4])
        #expect(spec.thinkMs == [0])
        #expect(spec.repetitions == 3)
        #expect(spec.seed == 42)
        #expect(spec.description == nil)
        #expect(spec.quick == nil)
    }

    @Test func aScalarIsAOneElementList() throws {
        let spec = try parse("name: s\nstrategies: pessimistic\nbuyers: 50\nstock: 2\nworkers: 3\nthinkMs: 1\n")
        #expect(spec.strategies == [.pessimistic])
        #expect(spec.buyers == [50])
        #expect(spec.stock == [2])
        #expect(spec.workers == [3])
        #expect(spec.thinkMs == [1])
    }

    @Test func strategiesAllMeansEveryStrategyInItsUsualOrder() throws {
        let spec = try parse("name: s\nstrategies: all\nbuyers: 5\nstock: 1\n")
        #expect(spec.strategies == StrategyName.builtIn)
    }

    @Test func quickReplacesOnlyTheKnobsItNames() throws {
        let quick = try parse(Self.contention).quickVariant
        #expect(quick.workers == [1, 4, 16])
        #expect(quick.repetitions == 2)
        #expect(quick.buyers == [200])
        #expect(quick.strategies == [.naive, .pessimistic, .optimistic, .advisory])
        #expect(quick.quick == nil)
        #expect(quick.runCount == 3 * 4 * 2)
    }

    @Test func aSpecWithoutAQuickSectionRunsUnchangedWithQuick() throws {
        let spec = try parse(Self.minimal)
        #expect(spec.quickVariant == spec)
    }

    @Test func theCanonicalYAMLReadsBackToTheSameSpec() throws {
        let spec = try parse(Self.contention)
        #expect(try parse(spec.yaml) == spec)
        let quoted = try parse(Self.minimal + "\ndescription: 'says: \"hi\" # not a comment'\n")
        #expect(try parse(quoted.yaml) == quoted)
    }

    @Test(arguments: [
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nwokers: [2]\n", "unknown field 'wokers' (did you mean 'workers'?)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\ncolour: red\n", "unknown field 'colour'"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nquick:\n  seed: 3\n", "unknown field 'quick.seed'"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nrepetitions: three\n", "field repetitions: expected an integer"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nrepetitions: 2.5\n", "field repetitions: expected an integer"),
        ("name: x\nstrategies: [naive]\nbuyers: ['10']\nstock: [1]\n", "field buyers[0]: expected an integer"),
        ("name: x\nstrategies: [naive]\nbuyers: {a: 1}\nstock: [1]\n", "field buyers: expected an integer or a list of integers"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nworkers: []\n", "field workers: must not be empty"),
        ("name: x\nstrategies: []\nbuyers: [1]\nstock: [1]\n", "field strategies: must not be empty"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nworkers: [1, 4, 100]\n", "field workers[2]: must be at most 64 (got 100)"),
        ("name: x\nstrategies: [naive]\nbuyers: [0]\nstock: [1]\n", "field buyers[0]: must be at least 1 (got 0)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [-1]\n", "field stock[0]: must not be negative (got -1)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nthinkMs: [70000]\n", "field thinkMs[0]: must be in 0...60000 (got 70000)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nconsumers: [0]\n", "field consumers[0]: must be at least 1 (got 0)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nrepetitions: 0\n", "field repetitions: must be at least 1 (got 0)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nseed: -4\n", "field seed: must not be negative (got -4)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nquick:\n  workers: [65]\n", "field quick.workers[0]: must be at most 64 (got 65)"),
        ("name: x\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\nitems: [2, 2]\n", "field items[1]: 2 is listed twice"),
        ("name: x\nstrategies: [naive, fastest]\nbuyers: [1]\nstock: [1]\n", "field strategies[1]: unknown strategy 'fastest'"),
        ("name: x\nstrategies: [naive]\nstock: [1]\n", "missing required field 'buyers'"),
        ("strategies: [naive]\nbuyers: [1]\nstock: [1]\n", "missing required field 'name'"),
        ("name: a b\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\n", "field name: must be letters, digits"),
        ("name: x\nname: y\nstrategies: [naive]\nbuyers: [1]\nstock: [1]\n", "a field appears more than once (name)"),
        ("name: x\nstrategies: [naive\nbuyers: [1]\n", "not valid YAML"),
        ("just some words\n", "expected a mapping of fields"),
        ("", "expected a mapping of fields"),
    ])
    func aBadSpecIsOneLineNamingTheFileAndTheField(yaml: String, expected: String) throws {
        let failure = try #require(error(yaml), "parsed: \(yaml)")
        #expect(failure.message.hasPrefix("experiments/x.yaml: "))
        #expect(failure.message.contains(expected), "\(failure.message)")
        #expect(!failure.message.contains("\n"))
    }

    @Test func aMissingFileIsNamed() {
        #expect(throws: SpecError(file: "nope.yaml", field: nil, problem: "no such file")) {
            try ExperimentSpec.load(contentsOf: URL(fileURLWithPath: "/nonexistent/nope.yaml"), file: "nope.yaml")
        }
    }

    @Test func cellsAreTheCartesianProductWithStrategiesBackToBack() throws {
        let spec = try parse(
            "name: s\nstrategies: [naive, advisory]\nbuyers: [10, 20]\nstock: [1]\nworkers: [1, 2]\nconsumers: [3]\nthinkMs: [0, 5]\n"
        )
        let cells = spec.cells
        #expect(cells.count == 2 * 2 * 2 * 2)
        #expect(Set(cells).count == cells.count)
        #expect(
            cells.prefix(4).map(\.label) == [
                "naive b=10 s=1 i=1 w=1 c=3 t=0", "advisory b=10 s=1 i=1 w=1 c=3 t=0",
                "naive b=10 s=1 i=1 w=1 c=3 t=5", "advisory b=10 s=1 i=1 w=1 c=3 t=5",
            ]
        )
        // Workers vary slowest, so one worker pool serves a contiguous block of cells.
        #expect(cells.map(\.workers) == Array(repeating: 1, count: 8) + Array(repeating: 2, count: 8))
        for pair in stride(from: 0, to: cells.count, by: 2) {
            #expect(cells[pair].with(strategy: .advisory) == cells[pair + 1])
        }
    }

    @Test func thePlanRunsEveryCellOncePerRepetitionWithThatRepetitionsSeed() throws {
        let spec = try parse("name: s\nstrategies: [naive, pessimistic]\nbuyers: [10]\nstock: [1]\nworkers: [1, 4]\nrepetitions: 3\nseed: 100\n")
        let plan = MatrixPlan(spec: spec)
        #expect(plan.runs.count == spec.runCount)
        #expect(plan.runs.count == 2 * 2 * 3)
        #expect(
            plan.runs.map { "\($0.cell.strategy.rawValue) w\($0.cell.workers) r\($0.repetition) \($0.seed)" } == [
                "naive w1 r1 100", "pessimistic w1 r1 100", "naive w1 r2 101", "pessimistic w1 r2 101", "naive w1 r3 102", "pessimistic w1 r3 102",
                "naive w4 r1 100", "pessimistic w4 r1 100", "naive w4 r2 101", "pessimistic w4 r2 101", "naive w4 r3 102", "pessimistic w4 r3 102",
            ]
        )
        let configuration = plan.runs[3].configuration(idleTimeoutSeconds: 12)
        #expect(
            configuration
                == StampedeConfiguration(
                    buyers: 10,
                    stock: 1,
                    items: 1,
                    workers: 1,
                    consumersPerWorker: 4,
                    seed: 101,
                    idleTimeoutSeconds: 12,
                    isolation: .readCommitted
                )
        )
    }

    @Test(arguments: ["last-item.yaml", "contention.yaml", "stock-depth.yaml", "hot-items.yaml"])
    func theShippedExperimentsParseWithAQuickVariantSmallerThanTheFullOne(file: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../experiments/\(file)").standardized
        let spec = try ExperimentSpec.load(contentsOf: url, file: file)
        #expect(spec.name + ".yaml" == file)
        #expect(spec.strategies == StrategyName.builtIn)
        #expect(spec.quick != nil)
        #expect(spec.quickVariant.runCount < spec.runCount)
        for cell in spec.cells { #expect(cell.buyers > cell.stock, "\(cell.label): no contention") }
    }

    @Test func anIsolationKnobRunsEveryStrategyAtEachLevel() throws {
        let spec = try parse(
            Self.minimal.replacingOccurrences(of: "strategies: [naive]", with: "strategies: [naive, atomic]")
                + "\nisolation: [read-committed, serializable]\n"
        )
        #expect(spec.isolation == [.readCommitted, .serializable])
        #expect(spec.cells.map { "\($0.strategy) \($0.isolation.abbreviation)" } == ["naive rc", "atomic rc", "naive ser", "atomic ser"])
        #expect(spec.cells[2].label == "naive b=10 s=1 i=1 w=4 c=4 t=0 iso=ser")
        #expect(spec.cells[0].label == "naive b=10 s=1 i=1 w=4 c=4 t=0")
        #expect(try parse(spec.yaml) == spec)
        #expect(
            error(Self.minimal + "\nisolation: [serializable, serializable]\n")?.message
                == "experiments/x.yaml: field isolation[1]: serializable is listed twice"
        )
        #expect(error(Self.minimal + "\nisolation: snapshot\n")?.field == "isolation")
        // Without the knob each strategy runs at its own default.
        #expect(try parse(Self.minimal).cells.map(\.isolation) == [.readCommitted])
    }

    @Test func strategyFilesAddTheirStrategiesAndAllIncludesThem() throws {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("racelab-spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "name: mine\nisolation: serializable\nsteps:\n  - sql: SELECT 1\n".write(
            to: folder.appendingPathComponent("mine.yaml"),
            atomically: true,
            encoding: .utf8
        )
        let text = "name: files\nstrategyFiles: [mine.yaml]\nstrategies: all\nbuyers: 10\nstock: 1\n"
        let spec = try ExperimentSpec.parse(text, file: "x.yaml", folder: folder)
        let mine = try #require(StrategyName(rawValue: "mine"))
        #expect(spec.strategies == StrategyName.builtIn + [mine])
        #expect(spec.strategyFiles == ["mine.yaml"])
        // The file's own isolation level is its cells' level.
        #expect(spec.cells.last?.isolation == .serializable)
        #expect(try ExperimentSpec.parse(spec.yaml, file: "x.yaml", folder: folder) == spec)
        let named = try ExperimentSpec.parse(text.replacingOccurrences(of: "all", with: "[mine, naive]"), file: "x.yaml", folder: folder)
        #expect(named.strategies == [mine, .naive])
        #expect(throws: SpecError.self) {
            try ExperimentSpec.parse(text.replacingOccurrences(of: "mine.yaml", with: "missing.yaml"), file: "x.yaml", folder: folder)
        }
        #expect(error("name: x\nstrategies: [mine]\nbuyers: 1\nstock: 1\n")?.message.contains("unknown strategy 'mine'") == true)
    }

    @Test func progressEstimatesTheRestFromTheMeanPaceSoFar() {
        let start = Date(timeIntervalSince1970: 1000)
        var progress = MatrixProgress(total: 10, startedAt: start)
        #expect(progress.etaSeconds(now: start.addingTimeInterval(5)) == nil)
        progress.runFinished()
        progress.runFinished()
        #expect(progress.etaSeconds(now: start.addingTimeInterval(8)) == 32)
        #expect(progress.line(running: 2, label: "naive b=1", now: start.addingTimeInterval(8)) == "run 3/10 · naive b=1 · 0:08 elapsed · ETA 0:32")
        #expect(MatrixProgress.clock(3723) == "1:02:03")
    }
}
