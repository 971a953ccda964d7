import AMQP
import Foundation
import Postgres
import RaceLabLab
import Sandbox
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One suite's own corner of the live servers: the database `racelab_t_<name>` on the PostgreSQL and the
/// virtual host of the same name on the RabbitMQ the test command started. Tables, queues, exchanges and
/// advisory locks all live inside one database or vhost, so suites with different corners run in
/// parallel without seeing each other's stampedes.
///
/// The URLs are the ``LiveServers`` ones with the database and the vhost replaced; ``provision()`` makes
/// both exist (the ``Trait/isolated(_:)`` trait calls it before the suite runs).
package struct IsolatedLab: Sendable, CustomStringConvertible {
    /// The suite's short name: lowercase letters, digits and `_`.
    package let name: String

    package init(_ name: String) {
        precondition(name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }, "lab names are [a-z0-9_]: \(name)")
        self.name = name
    }

    /// The database's name, which is also the vhost's.
    package var databaseName: String { "racelab_t_\(name)" }
    package var virtualHost: String { databaseName }
    package var description: String { "database and vhost \(databaseName)" }

    /// `RACELAB_POSTGRES_URL` with this lab's database ("" when the servers are not configured).
    package var postgresURL: String {
        guard let url = LiveServers.postgresURL else { return "" }
        guard var components = URLComponents(string: url), components.scheme != nil else {
            return url + " dbname=\(databaseName)"  // libpq key=value settings: the last dbname wins
        }
        components.path = "/" + databaseName
        return components.string ?? url
    }

    /// `RACELAB_AMQP_URL` with this lab's vhost ("" when the servers are not configured).
    package var amqpURL: String {
        guard let url = LiveServers.amqpURL else { return "" }
        guard var components = URLComponents(string: url) else { return url }
        components.percentEncodedPath = "/" + virtualHost
        return components.string ?? url
    }

    /// The lab's URLs in the environment variables `racelab` reads, for its child processes.
    package var environment: [String: String] {
        ["RACELAB_POSTGRES_URL": postgresURL, "RACELAB_AMQP_URL": amqpURL]
    }

    /// Makes the database and the vhost exist, once per test process (later calls await the first one).
    /// - Throws: what the servers said, with what to do when the tests cannot create a vhost themselves.
    package func provision() async throws {
        let task = Self.provisioning.withLock { tasks in
            if let task = tasks[name] { return task }
            let lab = self
            let task = Task {
                try await onThread { try lab.createDatabase() }
                try await lab.createVirtualHost()
            }
            tasks[name] = task
            return task
        }
        try await task.value
    }

    private static let provisioning = Mutex<[String: Task<Void, any Error>]>([:])

    /// `CREATE DATABASE` through the configured URL's database, unless it exists. Blocks.
    private func createDatabase() throws {
        let admin = try PostgresConnection(url: LiveServers.postgresURL ?? "", applicationName: "racelab-tests")
        guard try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [databaseName]).scalar == nil else { return }
        do {
            _ = try admin.execute("CREATE DATABASE \(databaseName)")
        } catch let error as PostgresError where error.sqlState == "42P04" || error.isUniqueViolation {
            // Another test process made it a moment ago.
        }
    }

    /// Adds the vhost unless the configured user can already log in to it: with `rabbitmqctl` when the
    /// broker is the sandbox's, else through the management API (`http://host:15672`, the same user).
    private func createVirtualHost() async throws {
        let endpoint = try AMQPEndpoint(url: amqpURL)
        let canLogIn: @Sendable () throws -> Bool = {
            do {
                try AMQPConnection(endpoint: endpoint, connectTimeout: .seconds(5), connectionName: "racelab tests").close()
                return true
            } catch let error as AMQPError where error.kind == .login {
                return false
            }
        }
        guard try await !onThread(canLogIn) else { return }
        let virtualHost = virtualHost
        let addedBySandbox = try await onThread {
            let sandbox = Sandbox(home: Sandbox.defaultHome(), logger: LiveServers.logger)
            guard sandbox.status(probes: LabServers.probes).rabbitmq.url == LiveServers.amqpURL else { return false }
            try sandbox.addVirtualHost(virtualHost)
            return true
        }
        if !addedBySandbox { try await addVirtualHostThroughManagementAPI(endpoint) }
        guard try await onThread(canLogIn) else {
            throw IsolationError("user \(endpoint.user) still cannot log in to vhost \(virtualHost) at \(endpoint.host):\(endpoint.port)")
        }
    }

    /// `PUT /api/vhosts/<vhost>` and `PUT /api/permissions/<vhost>/<user>` on the broker's management API.
    private func addVirtualHostThroughManagementAPI(_ endpoint: AMQPEndpoint) async throws {
        let base = "http://\(endpoint.host):15672/api"
        let steps = [
            ("\(base)/vhosts/\(virtualHost)", "{}"),
            ("\(base)/permissions/\(virtualHost)/\(endpoint.user)", #"{"configure":".*","write":".*","read":".*"}"#),
        ]
        let credentials = Data("\(endpoint.user):\(endpoint.password)".utf8).base64EncodedString()
        for (address, body) in steps {
            guard let url = URL(string: address) else { throw IsolationError("bad management URL \(address)") }
            var request = URLRequest(url: url, timeoutInterval: 10)
            request.httpMethod = "PUT"
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("Basic \(credentials)", forHTTPHeaderField: "Authorization")
            let status: Int
            do {
                status = (try await URLSession.shared.data(for: request).1 as? HTTPURLResponse)?.statusCode ?? 0
            } catch {
                throw IsolationError(
                    "cannot add vhost \(virtualHost) to the RabbitMQ at \(endpoint.host): no management API at \(base) (\(error.localizedDescription));"
                        + " add it yourself (rabbitmqctl add_vhost \(virtualHost); rabbitmqctl set_permissions -p \(virtualHost) \(endpoint.user) '.*' '.*' '.*')"
                )
            }
            guard (200..<300).contains(status) else {
                throw IsolationError("the management API at \(base) answered \(status) to PUT \(address)")
            }
        }
    }
}

/// Why a suite's own database or vhost could not be made.
package struct IsolationError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}
