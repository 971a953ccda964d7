/// Where a RabbitMQ server lives and whom to log in as, parsed from an `amqp://` URL.
///
/// `description` never contains the password, so an endpoint is safe to print in errors and logs.
public struct AMQPEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port, 5672 unless the URL names another.
    public var port: Int
    /// User for PLAIN login, `guest` unless the URL names another.
    public var user: String
    /// Password for PLAIN login, `guest` unless the URL names another.
    public var password: String
    /// Virtual host, `/` unless the URL names another.
    public var vhost: String

    /// Creates an endpoint from its parts.
    public init(host: String, port: Int = 5672, user: String = "guest", password: String = "guest", vhost: String = "/") {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
    }

    /// Parses `amqp://user:pass@host:port/vhost`.
    ///
    /// The user, password and vhost are percent-decoded (`%2f` is `/`). Missing parts default to
    /// `guest`/`guest`, port 5672 and vhost `/`; an empty path (`amqp://host/`) also means `/`.
    /// A query string (`?heartbeat=…`) is ignored.
    /// - Throws: ``AMQPError`` of kind ``AMQPError/Kind/invalidURL`` naming what is wrong with the URL.
    public init(url: String) throws {
        func invalid(_ problem: String) -> AMQPError {
            AMQPError(kind: .invalidURL, message: "invalid RabbitMQ URL '\(Self.redacted(url))': \(problem)")
        }
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw invalid("expected amqp://user:password@host:port/vhost")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "amqp" else {
            if scheme == "amqps" {
                throw invalid("TLS (amqps) is not supported")
            }
            throw invalid("scheme must be amqp, not '\(scheme)'")
        }
        var rest = url[schemeEnd.upperBound...]
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            rest = rest[..<query]
        }
        let authority: Substring
        let path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = nil
        }

        var user = "guest"
        var password = "guest"
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            let userPart: Substring
            if let colon = userInfo.firstIndex(of: ":") {
                userPart = userInfo[..<colon]
                guard let decoded = Self.percentDecoded(userInfo[userInfo.index(after: colon)...]) else {
                    throw invalid("the password is not valid percent-encoding")
                }
                password = decoded
            } else {
                userPart = userInfo
            }
            guard let decodedUser = Self.percentDecoded(userPart) else {
                throw invalid("the user name is not valid percent-encoding")
            }
            if !decodedUser.isEmpty {
                user = decodedUser
            }
        }

        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw invalid("unterminated IPv6 address")
            }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw invalid("unexpected text after the IPv6 address")
                }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else {
            throw invalid("the host is missing")
        }
        var port = 5672
        if let portText, !portText.isEmpty {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw invalid("port '\(portText)' is not a number from 1 to 65535")
            }
            port = parsed
        }

        var vhost = "/"
        if let path, !path.isEmpty {
            guard let decoded = Self.percentDecoded(path) else {
                throw invalid("the vhost is not valid percent-encoding")
            }
            vhost = decoded
        }
        self.init(host: String(host), port: port, user: user, password: password, vhost: vhost)
    }

    /// `host:port` (IPv6 hosts in brackets); never the password.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The URL with any password replaced by `***`, for error messages.
    private static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://"),
            let at = url[schemeEnd.upperBound...].lastIndex(of: "@")
        else { return url }
        let userInfo = url[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// Decodes `%XX` escapes as UTF-8; nil if an escape is malformed or the bytes are not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
