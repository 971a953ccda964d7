import RaceLabCore
import RaceLabLab
import RaceLabPipeline

/// Builds RFC 4180 CSV: comma-separated fields, CRLF line ends, and fields holding a comma, a quote or a
/// line break wrapped in quotes with inner quotes doubled.
struct CSVWriter {
    private(set) var text = ""

    mutating func append(_ fields: [String]) {
        text += fields.map(Self.quoted).joined(separator: ",") + "\r\n"
    }

    static func quoted(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
