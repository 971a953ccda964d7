#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Darwin)
private let systemBind = Darwin.bind
#elseif canImport(Musl)
private let systemBind = Musl.bind
#else
private let systemBind = Glibc.bind
#endif

/// Finds TCP ports on 127.0.0.1 that nothing listens on.
///
/// The kernel picks a port when we bind port 0; we close the socket at once and hand the number to a
/// server we are about to start. Another process could take it in between; the servers then fail to
/// start and the log says so, which is acceptable for a local sandbox.
public enum FreePort {
    /// A port the kernel considers free right now on 127.0.0.1.
    /// - Throws: `SandboxError` if no socket can be bound (out of descriptors, no loopback).
    public static func find() throws -> Int {
        guard let port = bind(port: 0) else {
            throw SandboxError("cannot find a free TCP port on 127.0.0.1: bind failed (errno \(errno))")
        }
        return port
    }

    /// Whether `port` can be bound on 127.0.0.1 right now (nothing listens there).
    static func isFree(_ port: Int) -> Bool {
        guard port > 0, port < 65536 else { return false }
        return bind(port: port) == port
    }

    /// The port `previous` if it is still free, else a fresh one.
    static func reuse(_ previous: Int?) throws -> Int {
        if let previous, isFree(previous) { return previous }
        return try find()
    }

    /// Binds a TCP socket to 127.0.0.1:`port` and returns the bound port, or nil on failure.
    private static func bind(port: Int) -> Int? {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // SO_REUSEADDR so a port in TIME_WAIT from a server we just stopped counts as free, as it
        // does for the servers themselves (both PostgreSQL and Erlang set it on their listeners).
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemBind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
