import Postgres
import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// One knob of a `MatrixCell`, by the name specs and `racelab compare --match-ignoring` use.
public enum CellKnob: String, Sendable, CaseIterable, Codable {
    case strategy, buyers, stock, items, workers, consumers, thinkMs, isolation

    /// The knob's value in `cell`, as text.
    public func value(in cell: MatrixCell) -> String {
        switch self {
        case .strategy: cell.strategy.rawValue
        case .buyers: "\(cell.buyers)"
        case .stock: "\(cell.stock)"
        case .items: "\(cell.items)"
        case .workers: "\(cell.workers)"
        case .consumers: "\(cell.consumers)"
        case .thinkMs: "\(cell.thinkMs)"
        case .isolation: cell.isolation.rawValue
        }
    }

    /// The knob's value in `cell` as a number (the strategy's position for `strategy`).
    func number(in cell: MatrixCell) -> Int {
        switch self {
        case .strategy: StrategyName.builtIn.firstIndex(of: cell.strategy) ?? StrategyName.builtIn.count
        case .buyers: cell.buyers
        case .stock: cell.stock
        case .items: cell.items
        case .workers: cell.workers
        case .consumers: cell.consumers
        case .thinkMs: cell.thinkMs
        case .isolation: IsolationLevel.allCases.firstIndex(of: cell.isolation) ?? 0
        }
    }

    /// `cell` with this knob set to a fixed placeholder, so cells that differ only here compare equal.
    func erased(in cell: MatrixCell) -> MatrixCell {
        var copy = cell
        switch self {
        case .strategy: copy.strategy = .naive
        case .buyers: copy.buyers = 0
        case .stock: copy.stock = 0
        case .items: copy.items = 0
        case .workers: copy.workers = 0
        case .consumers: copy.consumers = 0
        case .thinkMs: copy.thinkMs = 0
        case .isolation: copy.isolation = .readCommitted
        }
        return copy
    }

    /// The short form `MatrixCell.label` uses: `b=100`, `t=5`, or the strategy's name.
    public func shortLabel(in cell: MatrixCell) -> String {
        switch self {
        case .strategy: cell.strategy.rawValue
        case .buyers: "b=\(cell.buyers)"
        case .stock: "s=\(cell.stock)"
        case .items: "i=\(cell.items)"
        case .workers: "w=\(cell.workers)"
        case .consumers: "c=\(cell.consumers)"
        case .thinkMs: "t=\(cell.thinkMs)"
        case .isolation: "iso=\(cell.isolation.abbreviation)"
        }
    }
}

extension MatrixCell {
    /// The label without the strategy: `b=100 s=1 i=1 w=4 c=4 t=5`, naming the stampede every strategy
    /// faced; ` iso=rr` follows when the cell ran off read committed.
    public var stampedeLabel: String {
        CellKnob.allCases.dropFirst().filter { $0 != .isolation || isolation != .readCommitted }.map { $0.shortLabel(in: self) }
            .joined(separator: " ")
    }

    /// The knobs whose values differ between this cell and `other`.
    public func knobsDiffering(from other: MatrixCell) -> [CellKnob] {
        CellKnob.allCases.filter { $0.value(in: self) != $0.value(in: other) }
    }
}
