import Foundation
import Logging

@testable import Sandbox

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Probes for tests, without client libraries: `psql … SELECT 1` and the first step of an AMQP
/// handshake (send the protocol header, expect a method frame: connection.start).
enum TestProbes {
    static func make() -> SandboxProbes {
        SandboxProbes(postgres: postgres, amqp: amqp)
    }

    @Sendable static func postgres(_ url: String) throws {
        let runner = ProcessRunner(logger: Logger(label: "test"))
        let bin = try PostgresServer.findBinDirectory(runner: runner)
        let output = try runner.check(
            Command(executable: bin + "/psql", arguments: [url, "-tAc", "SELECT 1"], environment: ["PGCONNECT_TIMEOUT": "3"]),
            timeout: 10
        )
        guard output.trimmingCharacters(in: .whitespacesAndNewlines) == "1" else {
            throw SandboxError("psql answered \(output)")
        }
    }

    @Sendable static func amqp(_ url: String) throws {
        guard let port = URLComponents(string: url)?.port else { throw SandboxError("no port in \(url)") }
        #if canImport(Darwin)
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw SandboxError("socket failed") }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SandboxError("cannot connect to 127.0.0.1:\(port)") }
        let header: [UInt8] = Array("AMQP".utf8) + [0, 0, 9, 1]
        guard send(descriptor, header, header.count, 0) == header.count else { throw SandboxError("send failed") }
        var frameType: UInt8 = 0
        guard recv(descriptor, &frameType, 1, 0) == 1, frameType == 1 else {
            throw SandboxError("no AMQP method frame from 127.0.0.1:\(port)")
        }
    }
}
