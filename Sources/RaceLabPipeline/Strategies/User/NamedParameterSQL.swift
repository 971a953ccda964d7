import RaceLabCore

/// SQL written with named parameters (`:item`, `:stock`) turned into PostgreSQL's positional ones
/// (`$1`, `$2`), each name numbered once however often it appears.
///
/// The scanner knows enough of PostgreSQL's lexical rules not to find parameters where there are
/// none: in string constants (`'…'`, `E'…'` with backslash escapes, `$tag$…$tag$`), quoted
/// identifiers (`"…"`), comments (`-- …`, nested `/* … */`) and casts (`::type`). A name is a letter
/// or `_` followed by letters, digits and `_`, as for identifiers.
public struct NamedParameterSQL: Sendable, Equatable {
    /// The SQL with `$n` placeholders.
    public let positional: String
    /// The parameter names in `$n` order: `parameters[0]` is `$1`.
    public let parameters: [String]

    /// What the scanner could not accept.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case unterminated(String)
        case positionalPlaceholder

        public var description: String {
            switch self {
            case .unterminated(let what): "unterminated \(what)"
            case .positionalPlaceholder: "uses a positional placeholder ($1); name the parameters instead (:item, :quantity)"
            }
        }
    }

    public init(_ sql: String) throws(Problem) {
        let bytes = Array(sql.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var names: [String] = []
        var index = 0

        func isIdentifierStart(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || byte == UInt8(ascii: "_") || byte >= 0x80
        }
        func isIdentifierPart(_ byte: UInt8) -> Bool {
            isIdentifierStart(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "$")
        }
        /// Copies bytes up to and including the closing `quote`; a doubled quote is an escaped one.
        func copyQuoted(_ quote: UInt8, backslashEscapes: Bool, what: String) throws(Problem) {
            output.append(bytes[index])
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                output.append(byte)
                index += 1
                if backslashEscapes && byte == UInt8(ascii: "\\") && index < bytes.count {
                    output.append(bytes[index])
                    index += 1
                } else if byte == quote {
                    if index < bytes.count && bytes[index] == quote {
                        output.append(bytes[index])
                        index += 1
                    } else {
                        return
                    }
                }
            }
            throw .unterminated(what)
        }

        while index < bytes.count {
            let byte = bytes[index]
            let next: UInt8? = index + 1 < bytes.count ? bytes[index + 1] : nil
            switch byte {
            case UInt8(ascii: "'"):
                let escaped =
                    index > 0 && (bytes[index - 1] == UInt8(ascii: "E") || bytes[index - 1] == UInt8(ascii: "e"))
                    && (index < 2 || !isIdentifierPart(bytes[index - 2]))
                try copyQuoted(UInt8(ascii: "'"), backslashEscapes: escaped, what: "string constant")
            case UInt8(ascii: "\""):
                try copyQuoted(UInt8(ascii: "\""), backslashEscapes: false, what: "quoted identifier")
            case UInt8(ascii: "-") where next == UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") {
                    output.append(bytes[index])
                    index += 1
                }
            case UInt8(ascii: "/") where next == UInt8(ascii: "*"):
                var depth = 0
                repeat {
                    if bytes[index] == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                        depth += 1
                        output += [bytes[index], bytes[index + 1]]
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "*"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                        depth -= 1
                        output += [bytes[index], bytes[index + 1]]
                        index += 2
                    } else {
                        output.append(bytes[index])
                        index += 1
                    }
                } while depth > 0 && index < bytes.count
                if depth > 0 { throw .unterminated("comment") }
            case UInt8(ascii: "$"):
                // $n is a positional placeholder; $tag$ or $$ opens a dollar-quoted string; otherwise
                // `$` is part of an identifier (PostgreSQL allows it after the first character).
                if let next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next), index == 0 || !isIdentifierPart(bytes[index - 1]) {
                    throw .positionalPlaceholder
                }
                var end = index + 1
                while end < bytes.count && isIdentifierPart(bytes[end]) && bytes[end] != UInt8(ascii: "$") { end += 1 }
                let opensQuote = end < bytes.count && bytes[end] == UInt8(ascii: "$") && (index == 0 || !isIdentifierPart(bytes[index - 1]))
                guard opensQuote else {
                    output.append(byte)
                    index += 1
                    continue
                }
                let tag = Array(bytes[index...end])
                output += tag
                index = end + 1
                var closed = false
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "$"), index + tag.count <= bytes.count, Array(bytes[index..<index + tag.count]) == tag {
                        output += tag
                        index += tag.count
                        closed = true
                        break
                    }
                    output.append(bytes[index])
                    index += 1
                }
                if !closed { throw .unterminated("dollar-quoted string") }
            case UInt8(ascii: ":"):
                if next == UInt8(ascii: ":") {  // a cast
                    output += [byte, byte]
                    index += 2
                } else if let next, isIdentifierStart(next), index == 0 || bytes[index - 1] != UInt8(ascii: ":") {
                    var end = index + 1
                    while end < bytes.count && isIdentifierPart(bytes[end]) && bytes[end] != UInt8(ascii: "$") { end += 1 }
                    let name = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
                    let number: Int
                    if let existing = names.firstIndex(of: name) {
                        number = existing + 1
                    } else {
                        names.append(name)
                        number = names.count
                    }
                    output += Array("$\(number)".utf8)
                    index = end
                } else {
                    output.append(byte)
                    index += 1
                }
            default:
                output.append(byte)
                index += 1
            }
        }
        positional = String(decoding: output, as: UTF8.self)
        parameters = names
    }

    /// The SQL with each `$n` written back as its `:name`, for messages from the server that quote it.
    public func naming(_ message: String) -> String {
        var text = message
        for (offset, name) in parameters.enumerated().reversed() {
            text = text.replacingOccurrences(of: "$\(offset + 1)", with: ":\(name)")
        }
        return text
    }
}
