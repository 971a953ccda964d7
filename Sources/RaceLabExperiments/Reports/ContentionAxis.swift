import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// The x axis of the "against contention" charts: the knob that varies most directly with contention
/// in a matrix run.
///
/// The first knob that varies among workers, consumers, buyers, items, stock and think time wins; when
/// workers or consumers vary, the axis is the database sessions they make (workers × consumers). When
/// nothing varies, the stampede itself is the one category.
struct ContentionAxis {
    /// The knobs the axis stands for (erased from a cell to find its series); empty for the categorical axis.
    var knobs: [CellKnob]
    var title: String
    /// Distinct x values in ascending order, with their labels.
    var values: [Int]
    var labels: [String]

    init(cells: [MatrixCell]) {
        func varies(_ knob: CellKnob) -> Bool { Set(cells.map { knob.number(in: $0) }).count > 1 }
        let sessionKnobs = [CellKnob.workers, .consumers].filter(varies)
        if !sessionKnobs.isEmpty {
            knobs = sessionKnobs
            title = "database sessions (workers × consumers)"
        } else if let knob = [CellKnob.buyers, .items, .stock, .thinkMs].first(where: varies) {
            knobs = [knob]
            title =
                switch knob {
                case .buyers: "buyers"
                case .items: "items the buyers are spread over"
                case .stock: "stock per item"
                default: "think time (ms)"
                }
        } else {
            knobs = []
            title = "stampede"
        }
        let knobs = knobs
        values = Set(cells.map { Self.value(of: $0, knobs: knobs) }).sorted()
        labels = knobs.isEmpty ? [cells.first?.stampedeLabel ?? "—"] : values.map(String.init)
    }

    private static func value(of cell: MatrixCell, knobs: [CellKnob]) -> Int {
        if knobs.contains(.workers) || knobs.contains(.consumers) { return cell.workers * cell.consumers }
        return knobs.first?.number(in: cell) ?? 0
    }

    /// The cell's position on the axis: the index of its value (the axis is ordinal, evenly spaced).
    func position(of cell: MatrixCell) -> Double {
        Double(values.firstIndex(of: Self.value(of: cell, knobs: knobs)) ?? 0)
    }

    /// The cell's value on the axis, as text.
    func label(of cell: MatrixCell) -> String {
        knobs.isEmpty ? cell.stampedeLabel : String(Self.value(of: cell, knobs: knobs))
    }

    /// The cell with the axis knobs erased: cells sharing it form one line of a chart.
    func seriesKey(of cell: MatrixCell) -> MatrixCell {
        knobs.reduce(cell) { $1.erased(in: $0) }
    }
}
