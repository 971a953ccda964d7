import Foundation

/// The numbers on a chart's axis: shared by the matrix reports' charts and the race's timeline.
package enum AxisTicks {
    /// Round tick values from 0 to at least `maximum`: steps of 1, 2, 2.5 or 5 × 10ⁿ, about five of them.
    package static func nice(upTo maximum: Double) -> [Double] {
        guard maximum > 0, maximum.isFinite else { return [0, 0.25, 0.5, 0.75, 1] }
        let raw = maximum / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let count = Int((maximum / step).rounded(.up))
        return (0...max(count, 1)).map { Double($0) * step }
    }

    /// A tick or value label: whole numbers plain, others with up to two decimals.
    package static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        if abs(value) >= 100 { return String(format: "%.0f", value) }
        var text = String(format: abs(value) >= 10 ? "%.1f" : "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
