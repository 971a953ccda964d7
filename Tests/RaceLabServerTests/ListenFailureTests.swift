import Foundation
import Testing

@testable import RaceLabServer

/// Where the server cannot listen, said in one line before anything starts; no servers needed.
@Suite struct ListenFailureTests {
    @Test func aPortSomeoneListensOnIsInUse() throws {
        let holder = try TCPProxy(upstreamPort: 1)  // only its listening socket matters here
        defer { holder.cut() }
        let failure = ListenFailure.check(host: "127.0.0.1", port: holder.port)
        #expect(failure == .portInUse(host: "127.0.0.1", port: holder.port))
        #expect(failure?.description == "port \(holder.port) on 127.0.0.1 is in use; pick another with --port")
    }

    @Test func portZeroAndAFreePortPass() {
        #expect(ListenFailure.check(host: "127.0.0.1", port: 0) == nil)
    }

    @Test(arguments: ["nosuch.invalid", "999.1.1.1", ""])
    func aHostThatIsNeitherAnAddressNorANameIsUnknown(host: String) {
        guard case .unknownHost(host, _)? = ListenFailure.check(host: host, port: 0) else {
            Issue.record("\(host) resolved")
            return
        }
    }

    @Test func anAddressOfAnotherMachineIsNotAvailable() {
        let failure = ListenFailure.check(host: "192.0.2.1", port: 0)  // TEST-NET-1: never a local address
        #expect(failure == .addressNotAvailable(host: "192.0.2.1"))
        #expect(failure?.description.contains("not an address of this machine") == true)
    }

    @Test func noMessageShowsSwiftNIOsInternals() {
        let failures: [ListenFailure] = [
            .unknownHost(host: "x", reason: "Name or service not known"), .addressNotAvailable(host: "x"), .portInUse(host: "x", port: 1),
            .permissionDenied(host: "x", port: 80), .other(host: "x", port: 1, reason: "Too many open files"),
        ]
        for failure in failures {
            let text = failure.description
            #expect(!text.contains("descriptor:") && !text.contains("SocketAddressError") && !text.contains("\n"), "\(text)")
        }
    }

    @Test func theServerRefusesAPortInUseBeforeItReachesAnyServer() async throws {
        let holder = try TCPProxy(upstreamPort: 1)
        defer { holder.cut() }
        // Nothing answers at these URLs: had the server tried them first, it would fail on PostgreSQL instead.
        let server = try APIServer(
            configuration: APIServerConfiguration(
                postgresURL: "postgresql://nobody@127.0.0.1:1/none",
                amqpURL: "amqp://127.0.0.1:1",
                port: holder.port
            ),
            logger: ServerLab.logger
        )
        await #expect(throws: ListenFailure.portInUse(host: "127.0.0.1", port: holder.port)) { try await server.run() }
    }

    @Test(arguments: [("127.0.0.1", "http://127.0.0.1:8080"), ("::1", "http://[::1]:8080"), ("localhost", "http://localhost:8080")])
    func theBaseURLPutsAnIPv6AddressInBrackets(host: String, url: String) {
        #expect(APIServerConfiguration(postgresURL: "", amqpURL: "", host: host).baseURL(port: 8080) == url)
    }
}
