import RaceLabPipeline
import Yams

extension SpecReader {
    func repetitions(_ node: Node, path: String) throws(SpecError) -> Int {
        let value = try integer(node, path: path)
        let range = ExperimentSpec.repetitionsRange
        guard range.contains(value) else {
            throw fail(path, value < range.lowerBound ? "must be at least 1 (got \(value))" : "must be at most \(range.upperBound) (got \(value))")
        }
        return value
    }
}
