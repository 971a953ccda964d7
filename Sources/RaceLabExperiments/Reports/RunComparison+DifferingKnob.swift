import RaceLabCore
import RaceLabLab
import RaceLabPipeline

extension RunComparison {
    /// The one knob (other than the strategy) whose erasure pairs the most cells of `a` with cells of
    /// `b`, or nil when none pairs any: what two matrix runs differ in when someone edited one knob of a
    /// spec (say `thinkMs`) and ran it again.
    public static func differingKnob(_ a: [MatrixRunEntry], _ b: [MatrixRunEntry]) -> CellKnob? {
        CellKnob.allCases.filter { $0 != .strategy }
            .map { knob in (knob: knob, pairs: RunComparison(a: a, b: b, ignoring: knob).rows.count) }
            .filter { $0.pairs > 0 }
            .max { $0.pairs < $1.pairs }?.knob
    }
}
