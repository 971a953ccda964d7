/// Lays out rows of text in aligned columns under a header and a dashed rule — the one table layout
/// every `racelab` command prints.
public struct TextTable: Sendable {
    public enum Alignment: Sendable {
        case left, right
    }

    public var header: [String]
    public var rows: [[String]]
    /// Per column; missing entries are left-aligned.
    public var alignments: [Alignment]

    public init(header: [String], rows: [[String]], alignments: [Alignment] = []) {
        self.header = header
        self.rows = rows
        self.alignments = alignments
    }

    /// The first column left-aligned and the rest right-aligned: a label, then figures.
    public static func figures(header: [String], rows: [[String]]) -> TextTable {
        TextTable(header: header, rows: rows, alignments: [.left] + Array(repeating: .right, count: max(0, header.count - 1)))
    }

    /// The header, the rule, then one line per row. `emphasis` wraps a row's line in an ANSI style
    /// (e.g. `"1;31"` for bold red) when it returns one; pass `{ _ in nil }` when not on a terminal.
    /// Trailing spaces are trimmed.
    public func lines(emphasis: (Int) -> String? = { _ in nil }) -> [String] {
        let widths = header.indices.map { column in ([header] + rows).map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            let text = cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                let alignment = index < alignments.count ? alignments[index] : .left
                return alignment == .right ? pad + cell : cell + pad
            }.joined(separator: "  ")
            return String(text.reversed().drop { $0 == " " }.reversed())
        }
        var lines = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        for (index, row) in rows.enumerated() {
            let text = line(row)
            lines.append(emphasis(index).map { "\u{1B}[\($0)m\(text)\u{1B}[0m" } ?? text)
        }
        return lines
    }
}
