import Foundation
import Testing

@testable import Sandbox

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct FreePortTests {
    @Test func foundPortIsALoopbackPortThatIsFree() throws {
        let port = try FreePort.find()
        #expect((1024..<65536).contains(port))
        #expect(FreePort.isFree(port))
    }

    @Test func portWithAListenerIsNotFree() throws {
        let listener = try TestListener()
        #expect(!FreePort.isFree(listener.port))
        #expect(try FreePort.reuse(listener.port) != listener.port)
        #expect(try Sandbox.port(reusing: listener.port, avoiding: []) != listener.port)
    }

    @Test func freePreviousPortIsReusedUnlessAvoided() throws {
        let port = try FreePort.find()
        #expect(try FreePort.reuse(port) == port)
        #expect(try Sandbox.port(reusing: port, avoiding: []) == port)
        #expect(try Sandbox.port(reusing: port, avoiding: [port]) != port)
    }

    @Test func invalidPortsAreNeverFree() {
        #expect(!FreePort.isFree(0))
        #expect(!FreePort.isFree(70000))
    }
}

/// A TCP listener on 127.0.0.1 held for the life of the value.
final class TestListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        #if canImport(Darwin)
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 1) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        try #require(ok)
    }

    deinit { close(descriptor) }
}
