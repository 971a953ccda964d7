import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP relay on 127.0.0.1 in front of one of the lab's servers, which a test can ``cut()`` — open
/// connections closed, new ones refused, as when that server stops — and ``restore()`` on the same port.
///
/// So one API server loses PostgreSQL or RabbitMQ while the shared lab keeps serving every other suite.
/// Blocking socket calls run on threads of their own, never on a Swift concurrency task; ``cut()`` and
/// ``restore()`` block briefly (they wait for the listening thread to end). Call ``cut()`` when done: the
/// listening thread holds the relay until then.
final class TCPProxy: Sendable {
    private struct State {
        var listener: Int32 = -1
        /// Every open socket of every relayed connection, so ``cut()`` can shut them down. A socket is taken
        /// out of here before it is closed, so a number reused by someone else is never touched.
        var sockets: Set<Int32> = []
        var acceptThreadDone: DispatchSemaphore?
    }

    /// Where to point the client: `127.0.0.1:port`.
    let port: Int
    private let upstreamPort: Int
    private let state = Mutex(State())

    /// Listens on a free port of 127.0.0.1 and relays every connection to `127.0.0.1:upstreamPort`.
    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let listener = try Self.listening(port: 0)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        startAccepting(listener)
    }

    /// `url` (a PostgreSQL or AMQP URL naming `127.0.0.1:upstream`) pointed at this relay instead.
    func redirecting(_ url: String) -> String {
        url.replacingOccurrences(of: "127.0.0.1:\(upstreamPort)", with: "127.0.0.1:\(port)")
    }

    /// Stops listening and closes every relayed connection: clients see the server close it, and a new
    /// connection is refused. Returns once the port is free.
    func cut() {
        let done = state.withLock { state -> DispatchSemaphore? in
            if state.listener >= 0 { shutdown(state.listener, Int32(SHUT_RDWR)) }
            for socket in state.sockets { shutdown(socket, Int32(SHUT_RDWR)) }
            defer { state.acceptThreadDone = nil }
            return state.acceptThreadDone
        }
        done?.wait()
    }

    /// Listens again on the same port.
    func restore() throws {
        startAccepting(try Self.listening(port: port))
    }

    private func startAccepting(_ listener: Int32) {
        let done = DispatchSemaphore(value: 0)
        state.withLock { state in
            state.listener = listener
            state.acceptThreadDone = done
        }
        let thread = Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { break }  // shut down by cut()
                relay(client)
            }
            state.withLock { $0.listener = -1 }
            close(listener)
            done.signal()
        }
        thread.start()
    }

    /// Connects to the upstream server and copies bytes both ways until either side closes.
    private func relay(_ client: Int32) {
        guard let server = try? Self.connected(port: upstreamPort) else {
            close(client)
            return
        }
        state.withLock { $0.sockets.formUnion([client, server]) }
        let finished = Mutex(0)
        for (from, to) in [(client, server), (server, client)] {
            Thread { [self] in
                Self.copy(from: from, to: to)
                // Either side ending ends both; the last of the two copies closes the sockets.
                shutdown(from, Int32(SHUT_RDWR))
                shutdown(to, Int32(SHUT_RDWR))
                guard
                    finished.withLock({ count in
                        count += 1
                        return count == 2
                    })
                else { return }
                state.withLock { $0.sockets.subtract([client, server]) }
                close(client)
                close(server)
            }
            .start()
        }
    }

    private static func copy(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            var sent = 0
            while sent < count {
                // MSG_NOSIGNAL: a peer that is gone is an error here, not a SIGPIPE that ends the test process.
                let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                guard written > 0 else { return }
                sent += written
            }
        }
    }

    private struct SocketError: Error, CustomStringConvertible {
        var description: String
    }

    private static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func newSocket() throws -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw SocketError(description: "socket: \(String(cString: strerror(errno)))") }
        return descriptor
    }

    private static func listening(port: Int) throws -> Int32 {
        let descriptor = try newSocket()
        var on: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = address(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw SocketError(description: "cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        return descriptor
    }

    private static func connected(port: Int) throws -> Int32 {
        let descriptor = try newSocket()
        var address = address(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw SocketError(description: "cannot reach 127.0.0.1:\(port)")
        }
        return descriptor
    }
}
