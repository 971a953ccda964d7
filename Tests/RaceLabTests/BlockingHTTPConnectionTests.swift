import Foundation
import Testing

@testable import RaceLabCore
@testable import RaceLabExperiments
@testable import RaceLabLab
@testable import RaceLabPipeline

// The canned server speaks Glibc's socket API; the client under test is the same on every platform.
#if canImport(Glibc)
import Glibc

/// The harness's HTTP client against a server that answers with whatever bytes a test gives it: a lying
/// length or chunk size is an error naming it, never a crash or a hang.
@Suite struct BlockingHTTPConnectionTests {
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhello", "more than"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\nhello", "more than"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "two different Content-Length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\nhello\r\n0\r\n\r\n", "larger than"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "invalid chunk size"),
    ])
    func aLyingLengthIsAClearError(response: String, mention: String) throws {
        let server = try CannedServer(response: Array(response.utf8))
        let connection = BlockingHTTPConnection(host: "127.0.0.1", port: server.port, timeoutSeconds: 5)
        do {
            let answer = try connection.send(method: "GET", path: "/")
            Issue.record("read \(answer.body.count) bytes of a lying response")
        } catch {
            #expect(BlockingHTTPConnection.describe(error).contains(mention), "\(BlockingHTTPConnection.describe(error))")
        }
    }

    @Test func anHonestChunkedResponseIsRead() throws {
        let server = try CannedServer(
            response: Array("HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;x=y\r\n!\r\n0\r\n\r\n".utf8)
        )
        let response = try BlockingHTTPConnection(host: "127.0.0.1", port: server.port, timeoutSeconds: 5).send(method: "GET", path: "/")
        #expect(response.status == 202)
        #expect(String(decoding: response.body, as: UTF8.self) == "hello!")
    }

    @Test func extraHeadersAreSent() throws {
        let server = try CannedServer(response: Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8))
        _ = try BlockingHTTPConnection(host: "127.0.0.1", port: server.port, timeoutSeconds: 5)
            .send(method: "POST", path: "/purchases", body: Array("{}".utf8), headers: [("Authorization", "Bearer t0ken")])
        #expect(server.received().contains("\r\nAuthorization: Bearer t0ken\r\n"))
    }
}

/// A one-connection TCP server on a free loopback port that reads the request head, writes `response`
/// and closes. Its thread ends after the one connection.
private final class CannedServer: @unchecked Sendable {  // `request` is written before `done` signals, read after
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)
    private var request = ""

    init(response: [UInt8]) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            let client = accept(listener, nil, nil)
            var head: [UInt8] = []
            var byte: UInt8 = 0
            while client >= 0, recv(client, &byte, 1, 0) == 1 {
                head.append(byte)
                if head.suffix(4) == [13, 10, 13, 10] { break }
            }
            request = String(decoding: head, as: UTF8.self)
            _ = response.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(client)
            close(listener)
            done.signal()
        }.start()
    }

    /// The request head the server read, once it has answered.
    func received() -> String {
        done.wait()
        return request
    }
}
#endif
