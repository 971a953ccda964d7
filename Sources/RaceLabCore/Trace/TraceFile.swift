import Foundation
import Postgres

/// A traced run as `racelab run --trace FILE` writes it: JSON lines, the run first, then one line per
/// attempt in the order the attempts started.
public struct TraceFile: Sendable, Equatable {
    /// The first line: the stampede and what the database held after it.
    public struct Run: Codable, Sendable, Equatable {
        public var type = "run"
        public var runId: UUID
        public var strategy: StrategyName
        public var isolation: IsolationLevel
        public var buyers: Int
        public var items: Int
        /// Stock of each item before the run.
        public var stock: Int
        public var quantity: Int
        public var workers: Int
        public var consumersPerWorker: Int
        public var thinkMs: Int
        /// Orders in the database after the run, in units, per item (ids as text: JSON's object keys).
        public var sold: [String: Int]
        /// Units sold beyond the stock, summed over items.
        public var oversold: Int
        /// The SQL of each prepared statement the steps name.
        public var statements: [String: String]

        public init(
            runId: UUID,
            strategy: StrategyName,
            isolation: IsolationLevel,
            buyers: Int,
            items: Int,
            stock: Int,
            quantity: Int,
            workers: Int,
            consumersPerWorker: Int,
            thinkMs: Int,
            sold: [String: Int],
            oversold: Int,
            statements: [String: String] = [:]
        ) {
            self.runId = runId
            self.strategy = strategy
            self.isolation = isolation
            self.buyers = buyers
            self.items = items
            self.stock = stock
            self.quantity = quantity
            self.workers = workers
            self.consumersPerWorker = consumersPerWorker
            self.thinkMs = thinkMs
            self.sold = sold
            self.oversold = oversold
            self.statements = statements
        }
    }

    /// One attempt line: whose request it was, and the attempt's steps (its fields beside these).
    public struct Attempt: Codable, Sendable, Equatable {
        public var requestId: UUID
        public var buyerId: Int64
        public var itemId: Int64
        /// The request's final outcome (`purchased`, `soldOut`, …), the same on each of its attempts.
        public var outcome: PurchaseOutcome
        /// The worker thread that ran it: `host:pid/thread`.
        public var worker: String
        public var trace: AttemptTrace

        private enum CodingKeys: String, CodingKey { case type, requestId, buyerId, itemId, outcome, worker }

        public init(requestId: UUID, buyerId: Int64, itemId: Int64, outcome: PurchaseOutcome, worker: String, trace: AttemptTrace) {
            self.requestId = requestId
            self.buyerId = buyerId
            self.itemId = itemId
            self.outcome = outcome
            self.worker = worker
            self.trace = trace
        }

        /// One line per attempt of a traced outcome (its `trace`), whose request was `buyerId`'s.
        public static func lines(of outcome: OutcomeMessage, buyerId: Int64) -> [Attempt] {
            (outcome.trace ?? []).map { attempt in
                Attempt(
                    requestId: outcome.requestId,
                    buyerId: buyerId,
                    itemId: outcome.itemId,
                    outcome: outcome.outcome,
                    worker: outcome.worker,
                    trace: attempt
                )
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            requestId = try container.decode(UUID.self, forKey: .requestId)
            buyerId = try container.decode(Int64.self, forKey: .buyerId)
            itemId = try container.decode(Int64.self, forKey: .itemId)
            outcome = try container.decode(PurchaseOutcome.self, forKey: .outcome)
            worker = try container.decode(String.self, forKey: .worker)
            trace = try AttemptTrace(from: decoder)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("attempt", forKey: .type)
            try container.encode(requestId, forKey: .requestId)
            try container.encode(buyerId, forKey: .buyerId)
            try container.encode(itemId, forKey: .itemId)
            try container.encode(outcome, forKey: .outcome)
            try container.encode(worker, forKey: .worker)
            try trace.encode(to: encoder)
        }
    }

    public var run: Run
    /// In the order they started.
    public var attempts: [Attempt]

    public init(run: Run, attempts: [Attempt]) {
        self.run = run
        self.attempts = attempts.sorted { ($0.trace.startedAt, $0.trace.session) < ($1.trace.startedAt, $1.trace.session) }
    }

    /// The JSON lines.
    public func lines() throws -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try [String(decoding: encoder.encode(run), as: UTF8.self)]
            + attempts.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    }

    /// Reads a trace file's text; the error names the line and what is wrong with it.
    public init(parsing text: String) throws(TraceFileError) {
        let decoder = JSONDecoder()
        var run: Run?
        var attempts: [Attempt] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let number = index + 1
            struct Kind: Decodable { var type: String? }
            let data = Data(trimmed.utf8)
            guard let kind = try? decoder.decode(Kind.self, from: data) else {
                throw TraceFileError(reason: "line \(number): not a JSON object")
            }
            do {
                switch kind.type {
                case "run":
                    guard run == nil else { throw TraceFileError(reason: "line \(number): a second run line (one run per file)") }
                    run = try decoder.decode(Run.self, from: data)
                case "attempt":
                    guard run != nil else { throw TraceFileError(reason: "line \(number): an attempt before the run line") }
                    attempts.append(try decoder.decode(Attempt.self, from: data))
                default:
                    throw TraceFileError(
                        reason: "line \(number): type must be run or attempt, got \(kind.type.map { "'\($0.prefix(20))'" } ?? "none")"
                    )
                }
            } catch let error as TraceFileError {
                throw error
            } catch let error as DecodingError {
                throw TraceFileError(reason: "line \(number): \(MessageCodec.describe(error))")
            } catch {
                throw TraceFileError(reason: "line \(number): \(error)")
            }
        }
        guard let run else { throw TraceFileError(reason: "no run line: not a trace written by racelab run --trace") }
        self.init(run: run, attempts: attempts)
    }
}

/// Why a trace file cannot be read, in one line.
public struct TraceFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { reason }
}
