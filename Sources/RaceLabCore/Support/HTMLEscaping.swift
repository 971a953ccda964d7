extension String {
    /// The text with `&`, `<`, `>`, `"` and `'` replaced by entities: safe inside HTML/SVG text and
    /// attribute values. Shared by the reports and the API's pages.
    package var htmlEscaped: String {
        var escaped = ""
        escaped.reserveCapacity(utf8.count)
        for character in self {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
