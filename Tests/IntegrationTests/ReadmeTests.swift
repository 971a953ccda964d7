import Foundation
import Testing

/// The README's option tables against the commands' own `--help`, so the two cannot drift: every
/// option a table documents exists, and a default the help states is the one the table gives.
@Suite struct ReadmeTests {
    /// One row of an option table: the command its section documents, the option and its default.
    struct Row: CustomStringConvertible {
        var command: String
        var option: String
        var documentedDefault: String
        var description: String { "racelab \(command) \(option) (README default \(documentedDefault))" }
    }

    static let readme: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
    }()

    /// Rows of `| option | default | meaning |` tables under `### \`racelab CMD\`` headings.
    static var rows: [Row] {
        var command: String?
        var rows: [Row] = []
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("### `racelab ") {
                command = line.dropFirst("### `racelab ".count).prefix { $0 != "`" }.split(separator: " ").first.map(String.init)
            } else if line.hasPrefix("## ") {
                command = nil
            } else if let command, line.hasPrefix("| `--") {
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                guard cells.count >= 2 else { continue }
                rows.append(
                    Row(command: command, option: cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")), documentedDefault: cells[1])
                )
            }
        }
        return rows
    }

    @Test func theReadmeHasOptionTables() {
        #expect(Self.rows.count >= 20, "the README's option tables were not found")
    }

    @Test(arguments: Self.rows)
    func everyDocumentedOptionExistsWithItsDefault(row: Row) async throws {
        let help = try await CommandLineTests.racelab([row.command, "--help"])
        #expect(help.status == 0)
        // Help text wraps; join it so an option's entry reads as one line.
        let text = help.stdout.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: #" {2,}"#, with: " ", options: .regularExpression)
        let entry =
            text.range(of: "\(row.option) <").map { String(text[$0.lowerBound...].prefix(400)) }
            ?? text.range(of: "\(row.option) ").map { String(text[$0.lowerBound...].prefix(400)) }
        let found = try #require(entry, "\(row) is not in `racelab \(row.command) --help`")
        // The entry ends where the next option starts.
        let own = found.dropFirst(row.option.count).range(of: " --").map { String(found[..<$0.lowerBound]) } ?? found
        guard let defaultRange = own.range(of: #"default: [^;)]+"#, options: .regularExpression) else { return }
        let helpDefault = own[defaultRange].dropFirst("default: ".count)
        let documented = row.documentedDefault.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        let said = String(helpDefault).trimmingCharacters(in: .whitespaces)
        let same =
            Double(said).map { Double(documented) == $0 } ?? (said.hasPrefix(documented) || documented.hasPrefix(said))
        #expect(same, "\(row): --help says default \(said)")
    }
}
