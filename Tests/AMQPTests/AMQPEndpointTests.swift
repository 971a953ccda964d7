import Testing

@testable import AMQP

@Suite struct AMQPEndpointTests {
    @Test func urlWithoutUserPortOrVhostUsesTheDefaults() throws {
        let endpoint = try AMQPEndpoint(url: "amqp://rabbit.example")
        #expect(endpoint == AMQPEndpoint(host: "rabbit.example", port: 5672, user: "guest", password: "guest", vhost: "/"))
        #expect(endpoint.description == "rabbit.example:5672")
    }

    @Test func urlPartsArePercentDecodedAndVhostSlashIsDecoded() throws {
        let endpoint = try AMQPEndpoint(url: "amqp://lab%40user:p%3Ass@127.0.0.1:25672/%2f")
        #expect(endpoint.user == "lab@user")
        #expect(endpoint.password == "p:ss")
        #expect(endpoint.host == "127.0.0.1")
        #expect(endpoint.port == 25672)
        #expect(endpoint.vhost == "/")
    }

    @Test(arguments: [
        ("amqp://h/racelab", "racelab"),
        ("amqp://h/", "/"),
        ("amqp://h:1234/a%2Fb?heartbeat=10", "a/b"),
    ])
    func vhostComesFromThePath(url: String, vhost: String) throws {
        #expect(try AMQPEndpoint(url: url).vhost == vhost)
    }

    @Test func ipv6HostIsBracketedInTheDescription() throws {
        let endpoint = try AMQPEndpoint(url: "amqp://[::1]:5673")
        #expect(endpoint.host == "::1")
        #expect(endpoint.port == 5673)
        #expect(endpoint.description == "[::1]:5673")
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let endpoint = try AMQPEndpoint(url: "amqp://guest:s3cret@127.0.0.1:5672/%2f")
        #expect(endpoint.description == "127.0.0.1:5672")
    }

    @Test(arguments: ["http://127.0.0.1:5672/", "amqps://127.0.0.1/", "127.0.0.1:5672"])
    func urlWithAnotherSchemeIsInvalid(url: String) {
        let error = #expect(throws: AMQPError.self) { try AMQPEndpoint(url: url) }
        #expect(error?.kind == .invalidURL)
    }

    @Test(arguments: ["amqp://h:port/", "amqp://h:0/", "amqp://h:70000/", "amqp://h:-1/"])
    func urlWithABadPortIsInvalidAndNamesThePort(url: String) {
        let error = #expect(throws: AMQPError.self) { try AMQPEndpoint(url: url) }
        #expect(error?.kind == .invalidURL)
        #expect(error?.message.contains("port") == true)
    }

    @Test func invalidURLMessageHidesThePassword() {
        let error = #expect(throws: AMQPError.self) { try AMQPEndpoint(url: "amqp://guest:s3cret@h:bad/") }
        #expect(error?.message.contains("s3cret") == false)
    }

    @Test func urlWithoutHostIsInvalid() {
        let error = #expect(throws: AMQPError.self) { try AMQPEndpoint(url: "amqp://guest:guest@:5672/") }
        #expect(error?.kind == .invalidURL)
    }
}
