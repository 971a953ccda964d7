import Foundation
import RaceLabCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Darwin)
private let systemConnect = Darwin.connect
private let streamSocket = SOCK_STREAM
#elseif canImport(Musl)
private let systemConnect = Musl.connect
private let streamSocket = Int32(SOCK_STREAM)
#else
private let systemConnect = Glibc.connect
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#endif

/// A plain-HTTP/1.1 client over one kept-alive TCP connection, for the harness's own threads.
///
/// Every call blocks (socket timeouts bound it); use it from a dedicated thread, never from a Swift
/// concurrency task. Reconnects when the server closed the connection. Only what the harness needs:
/// requests with a `Content-Length` body, responses with `Content-Length` or chunked bodies. It trusts
/// nothing the server sends: a head over ``maxHeadBytes``, a body over ``maxBodyBytes``, or a length or
/// chunk size that is not a plain number is an error, never a crash.
package final class BlockingHTTPConnection {
    /// The most the response head (status line and headers) may take.
    package static let maxHeadBytes = 64 * 1024
    /// The most a response body may take; the harness reads small JSON documents.
    package static let maxBodyBytes = 16 * 1024 * 1024

    package struct Response {
        package var status: Int
        package var body: [UInt8]
    }

    private let host: String
    private let port: Int
    private let timeoutSeconds: Int
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    package init(host: String, port: Int, timeoutSeconds: Int = 30) {
        self.host = host
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { disconnect() }

    /// Sends one request and reads its response. A connection the server had closed meanwhile (nothing
    /// read back at all) is reopened and the request sent once more. `headers` are sent as given (names
    /// and values without line breaks).
    package func send(
        method: String,
        path: String,
        body: [UInt8] = [],
        contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: application/json\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        let reused = fd >= 0
        do {
            return try exchange(request)
        } catch let error as HTTPExchangeError where reused && error.nothingRead {
            disconnect()
            return try exchange(request)
        }
    }

    private struct HTTPExchangeError: Error {
        var message: String
        var nothingRead: Bool
    }

    private func exchange(_ request: [UInt8]) throws -> Response {
        if fd < 0 { try connect() }
        buffer.removeAll(keepingCapacity: true)
        try write(request)
        let headerEnd = try readUntilHeaderEnd()
        let headText = String(decoding: buffer[0..<headerEnd], as: UTF8.self)
        buffer.removeFirst(headerEnd + 4)
        let lines = headText.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            disconnect()
            throw HTTPExchangeError(message: "not an HTTP/1.1 response: \(lines[0].prefix(60))", nothingRead: false)
        }
        var contentLength: Int?
        var chunked = false
        var close = statusParts[0] == "HTTP/1.0"
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces).lowercased()
            switch name {
            case "content-length":
                let length: Int
                do {
                    length = try Self.length(value)
                } catch {
                    disconnect()
                    throw error
                }
                if let contentLength, contentLength != length {
                    disconnect()
                    throw HTTPExchangeError(message: "the server sent two different Content-Length headers", nothingRead: false)
                }
                contentLength = length
            case "transfer-encoding": chunked = value.contains("chunked")
            case "connection": close = value.contains("close") ? true : (value.contains("keep-alive") ? false : close)
            default: break
            }
        }
        let body: [UInt8]
        if chunked {
            body = try readChunked()
        } else if let contentLength {
            try fill(atLeast: contentLength)
            body = Array(buffer.prefix(contentLength))
        } else {
            close = true
            while try readMore() {
                if buffer.count > Self.maxBodyBytes { throw tooLarge() }
            }
            body = buffer
        }
        if close { disconnect() }
        return Response(status: status, body: body)
    }

    /// A `Content-Length` value: decimal digits only (no sign, no spaces inside), at most ``maxBodyBytes``.
    private static func length(_ value: String) throws -> Int {
        guard !value.isEmpty, value.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw HTTPExchangeError(message: "the server sent an invalid Content-Length '\(value.prefix(40))'", nothingRead: false)
        }
        guard value.count <= 10, let length = Int(value), length <= maxBodyBytes else {
            throw HTTPExchangeError(
                message: "the server announced a body of \(value.prefix(40)) bytes, more than the \(maxBodyBytes) the harness reads",
                nothingRead: false
            )
        }
        return length
    }

    private func tooLarge() -> HTTPExchangeError {
        disconnect()
        return HTTPExchangeError(message: "the server's response is larger than the \(Self.maxBodyBytes) bytes the harness reads", nothingRead: false)
    }

    private func readUntilHeaderEnd() throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                var index = max(0, searchFrom - 3)
                while index + 3 < buffer.count {
                    if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 { return index }
                    index += 1
                }
                searchFrom = buffer.count
            }
            if buffer.count > Self.maxHeadBytes {
                disconnect()
                throw HTTPExchangeError(message: "the server's response head is larger than \(Self.maxHeadBytes) bytes", nothingRead: false)
            }
            let before = buffer.count
            guard try readMore() else {
                disconnect()
                throw HTTPExchangeError(message: "the server closed the connection before answering", nothingRead: before == 0)
            }
        }
    }

    private func readChunked() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let lineEnd = try readLine()
            let sizeText = String(decoding: buffer[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            buffer.removeFirst(lineEnd + 2)
            let digits = sizeText.trimmingCharacters(in: .whitespaces)
            // Hex digits only: `Int(_:radix:)` would take a sign, and 16 digits could overflow `size + 2`.
            guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy(\.isHexDigit), let size = Int(digits, radix: 16) else {
                disconnect()
                throw HTTPExchangeError(message: "the server sent an invalid chunk size '\(digits.prefix(40))'", nothingRead: false)
            }
            guard size <= Self.maxBodyBytes - body.count else { throw tooLarge() }
            if size == 0 {
                // Trailers, if any, end with an empty line.
                while true {
                    let end = try readLine()
                    buffer.removeFirst(end + 2)
                    if end == 0 { return body }
                }
            }
            try fill(atLeast: size + 2)
            body += buffer[0..<size]
            buffer.removeFirst(size + 2)
        }
    }

    private func readLine() throws -> Int {
        while true {
            if buffer.count >= 2 {
                for index in 0..<(buffer.count - 1) where buffer[index] == 13 && buffer[index + 1] == 10 { return index }
            }
            if buffer.count > Self.maxHeadBytes {
                disconnect()
                throw HTTPExchangeError(message: "the server sent a chunk line longer than \(Self.maxHeadBytes) bytes", nothingRead: false)
            }
            guard try readMore() else {
                disconnect()
                throw HTTPExchangeError(message: "the server closed the connection mid-response", nothingRead: false)
            }
        }
    }

    private func fill(atLeast count: Int) throws {
        while buffer.count < count {
            guard try readMore() else {
                disconnect()
                throw HTTPExchangeError(message: "the server closed the connection mid-response", nothingRead: false)
            }
        }
    }

    /// Reads what is available into `buffer`; false at end of stream.
    private func readMore() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[0..<count]
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "no answer within \(timeoutSeconds) s" : String(cString: strerror(errno))
            let nothing = buffer.isEmpty && errno != EAGAIN && errno != EWOULDBLOCK
            disconnect()
            throw HTTPExchangeError(message: reason, nothingRead: nothing)
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { raw in
                #if canImport(Darwin)
                Darwin.send(fd, raw.baseAddress! + offset, raw.count - offset, 0)
                #else
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #endif
            }
            if sent > 0 {
                offset += sent
            } else if errno != EINTR {
                let reason = String(cString: strerror(errno))
                disconnect()
                throw HTTPExchangeError(message: reason, nothingRead: true)
            }
        }
    }

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocket
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw HTTPExchangeError(message: "cannot resolve \(host): \(String(cString: gai_strerror(resolved)))", nothingRead: false)
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let candidate = entry {
            entry = candidate.pointee.ai_next
            let socketFD = socket(candidate.pointee.ai_family, candidate.pointee.ai_socktype, candidate.pointee.ai_protocol)
            guard socketFD >= 0 else { continue }
            var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            _ = setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var one: Int32 = 1
            _ = setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if systemConnect(socketFD, candidate.pointee.ai_addr, candidate.pointee.ai_addrlen) == 0 {
                fd = socketFD
                return
            }
            lastError = String(cString: strerror(errno))
            close(socketFD)
        }
        throw HTTPExchangeError(message: "cannot connect to \(host):\(port): \(lastError)", nothingRead: false)
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
    }
}

extension BlockingHTTPConnection {
    /// The one-line reason of an error thrown by ``send(method:path:body:contentType:)``.
    package static func describe(_ error: any Error) -> String {
        (error as? HTTPExchangeError)?.message ?? "\(error)"
    }
}
