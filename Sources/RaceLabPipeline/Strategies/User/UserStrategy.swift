import ContentHash
import Foundation
import Postgres
import RaceLabCore

/// A strategy a user wrote as data: SQL steps run in one transaction, read from a YAML file (see the
/// README's "Strategies you write") and registered in the database, where every worker — local or on
/// another host — finds it by its ``version`` without a rebuild or a restart.
///
/// A step is a statement with named parameters (`:item :quantity :buyer :request :run :strategy`, and
/// every column an earlier step returned), or the think pause. A statement that returns or touches no
/// row ends the attempt with its `none:` outcome (`soldOut`, `conflict` — retried — or `noSuchItem`);
/// when every step has run, the transaction commits and the request counts as purchased.
public struct UserStrategy: PurchaseStrategy, Equatable {
    /// What a step does.
    public enum Step: Sendable, Equatable {
        case sql(SQLStep)
        /// The request's `--think-ms` pause, here.
        case think
    }

    /// One statement of the transaction.
    public struct SQLStep: Sendable, Equatable {
        /// The statement as the file wrote it.
        public var sql: String
        public var compiled: NamedParameterSQL
        /// The outcome when the statement returns (or, without `RETURNING`, touches) no row; nil: go on.
        public var none: PurchaseAttempt?
        /// The prepared statement's name on every connection: unique per strategy version and step.
        public var statement: PreparedStatement
    }

    /// The parameters every statement may use, and what they hold.
    public static let builtInParameters: [(name: String, meaning: String)] = [
        ("item", "the item id"), ("quantity", "units asked for"), ("buyer", "the buyer id"), ("request", "the request id (uuid)"),
        ("run", "the run id (uuid)"), ("strategy", "the strategy's name"),
    ]

    public let name: StrategyName
    public var description: String?
    /// The level the file asks for; nil: read committed, or whatever the run's `--isolation` says.
    public var isolation: IsolationLevel?
    public var steps: [Step]
    /// The file's text, as registered.
    public var source: String
    /// Identifies this text of the strategy (16 hex digits of a 64-bit FNV-1a hash of the source):
    /// requests carry it, so a worker runs exactly the definition the harness registered.
    public var version: String

    public var summary: String { description ?? "a strategy from a file: \(steps.count) step(s) in one transaction" }
    public var tradeoff: String { "whatever its SQL does: the report tells" }
    public var traits: StrategyTraits { StrategyTraits(expectation: .unknown, defaultIsolation: isolation ?? .readCommitted) }

    /// The SQL steps, in order.
    public var sqlSteps: [SQLStep] {
        steps.compactMap { if case .sql(let step) = $0 { step } else { nil } }
    }

    /// Runs the steps in one transaction at `isolation`, in as few round trips as the steps allow:
    /// `BEGIN` goes with the first statement, `COMMIT` with the last unless its result must be checked.
    public func attempt(_ request: PurchaseRequest, isolation: IsolationLevel, on db: PostgresConnection) throws -> PurchaseAttempt {
        var values: [String: String?] = [
            "item": String(request.itemId), "quantity": String(request.quantity), "buyer": String(request.buyerId),
            "request": request.requestId.uuidString, "run": request.runId.uuidString, "strategy": request.strategy.rawValue,
        ]
        var pending = [PostgresConnection.Step(isolation.begin)]
        let lastSQL = steps.lastIndex { if case .sql = $0 { true } else { false } }
        do {
            for (index, step) in steps.enumerated() {
                switch step {
                case .think:
                    think(request, on: db)
                case .sql(let sql):
                    let parameters = sql.compiled.parameters.map { values[$0] ?? nil }
                    pending.append(.init(sql.statement, parameters))
                    if index == lastSQL && sql.none == nil {
                        _ = try db.pipeline(pending + [.init(Self.commit)])
                        return .purchased
                    }
                    let result = try db.pipeline(pending).last ?? PostgresResult(columns: [], rows: [], affectedRows: 0)
                    pending = []
                    let empty = result.columns.isEmpty ? result.affectedRows == 0 : result.rows.isEmpty
                    if empty, let none = sql.none {
                        try db.execute(Self.rollback)
                        return none
                    }
                    if let row = result.rows.first {
                        for (column, value) in zip(result.columns, row) { values[column] = value }
                    }
                }
            }
            _ = try db.pipeline(pending + [.init(Self.commit)])
            return .purchased
        } catch {
            if db.isHealthy { _ = try? db.execute(Self.rollback) }
            throw error
        }
    }

    static let commit = PreparedStatement(name: "user_commit", sql: "COMMIT")
    static let rollback = PreparedStatement(name: "user_rollback", sql: "ROLLBACK")
}

extension UserStrategy {
    /// 16 hex digits of the 64-bit FNV-1a hash of `text`: a content key, not a security measure (only
    /// the lab's own database role can register definitions).
    static func version(of text: String) -> String { FNV1a.hex64(text) }
}
