import LabTestSupport
import Testing

@testable import AMQP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Connection failures that need no server.
@Suite struct AMQPConnectFailureTests {
    @Test func connectingToAClosedPortThrowsConnectNamingTheAddress() async throws {
        let error = try await onThread {
            do {
                _ = try AMQPConnection(endpoint: AMQPEndpoint(host: "127.0.0.1", port: 1), connectTimeout: .seconds(2))
                return AMQPError?.none
            } catch let error as AMQPError {
                return error
            }
        }
        #expect(error?.kind == .connect)
        #expect(error?.message == "cannot reach RabbitMQ at 127.0.0.1:1: connection refused")
    }

    @Test func connectingToAnUnknownHostThrowsConnectNamingTheHost() async throws {
        let error = try await onThread {
            do {
                _ = try AMQPConnection(endpoint: AMQPEndpoint(host: "no-such-host.invalid", port: 5672), connectTimeout: .seconds(2))
                return AMQPError?.none
            } catch let error as AMQPError {
                return error
            }
        }
        #expect(error?.kind == .connect)
        #expect(error?.message.hasPrefix("cannot reach RabbitMQ at no-such-host.invalid:5672: host name lookup failed") == true)
    }

    @Test func serverThatNeverAnswersTheHandshakeTimesOut() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let port = listener.port
        let error = try await onThread {
            do {
                _ = try AMQPConnection(endpoint: AMQPEndpoint(host: "127.0.0.1", port: port), connectTimeout: .milliseconds(500))
                return AMQPError?.none
            } catch let error as AMQPError {
                return error
            }
        }
        #expect(error?.kind == .timeout)
        #expect(error?.message == "RabbitMQ at 127.0.0.1:\(port) did not complete the AMQP handshake within 0.5 seconds")
    }
}

/// A loopback TCP listener that never accepts: the kernel completes connections, nobody speaks AMQP.
private struct SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        try #require(bound == 0)
        try #require(listen(fd, 8) == 0)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        try #require(named == 0)
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(fd)
    }
}
