#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the server cannot listen on a host and port, in one line that says what to change.
///
/// ``check(host:port:)`` finds it before any work starts; the HTTP server's own bind error (SwiftNIO's
/// `bind(descriptor:…)` or `SocketAddressError…` text) is never shown.
public enum ListenFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The host is neither an address nor a name the resolver knows.
    case unknownHost(host: String, reason: String)
    /// The address is not one of this machine's (`EADDRNOTAVAIL`).
    case addressNotAvailable(host: String)
    /// Something else listens on the port (`EADDRINUSE`).
    case portInUse(host: String, port: Int)
    /// The port needs privileges this process does not have (`EACCES`: ports below 1024).
    case permissionDenied(host: String, port: Int)
    /// Any other reason the operating system gave.
    case other(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case .unknownHost(let host, let reason):
            "--host \(Self.quoted(host)) is not an address or a known host name (\(reason)); name an address of this machine, such as 127.0.0.1"
        case .addressNotAvailable(let host):
            "--host \(host) is not an address of this machine; name one of its own, such as 127.0.0.1"
        case .portInUse(let host, let port):
            "port \(port) on \(host) is in use; pick another with --port"
        case .permissionDenied(let host, let port):
            "port \(port) on \(host) needs privileges (ports below 1024); pick another with --port"
        case .other(let host, let port, let reason):
            "cannot listen on port \(port) on \(host): \(reason)"
        }
    }

    /// Binds and listens on a socket at `host`'s first resolved address and `port`, as the HTTP server will
    /// (`getaddrinfo`, then `SO_REUSEADDR`), and closes it at once.
    ///
    /// Blocks for the name lookup. Port 0 always passes (the server gets a free port when it binds).
    /// - Returns: nil when the server can listen there now; otherwise why not.
    public static func check(host: String, port: Int) -> ListenFailure? {
        var addresses: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), nil, &addresses)
        guard status == 0, let address = addresses?.pointee else {
            return .unknownHost(host: host, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(addresses) }
        #if canImport(Glibc)
        let stream = Int32(SOCK_STREAM.rawValue)
        #else
        let stream = SOCK_STREAM
        #endif
        let descriptor = socket(address.ai_family, stream, 0)
        guard descriptor >= 0 else { return .other(host: host, port: port, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var on: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, address.ai_addr, address.ai_addrlen) == 0, listen(descriptor, 1) == 0 else {
            switch errno {
            case EADDRINUSE: return .portInUse(host: host, port: port)
            case EADDRNOTAVAIL: return .addressNotAvailable(host: host)
            case EACCES: return .permissionDenied(host: host, port: port)
            case let code: return .other(host: host, port: port, reason: String(cString: strerror(code)))
            }
        }
        return nil
    }

    private static func quoted(_ host: String) -> String { host.isEmpty ? "''" : host }
}
