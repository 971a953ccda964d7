import Foundation
import Postgres
import Testing

@Suite(.enabled(if: LabEnvironment.available, LabEnvironment.skipNotice))
struct PostgresWrapperTests {
    @Test func aUniqueViolationCarriesItsSQLState() async throws {
        try await onThread {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            try db.execute("CREATE TEMP TABLE t (id int PRIMARY KEY)")
            try db.query("INSERT INTO t VALUES ($1)", ["1"])
            #expect {
                try db.query("INSERT INTO t VALUES ($1)", ["1"])
            } throws: { error in
                (error as? PostgresError)?.sqlState == "23505" && (error as? PostgresError)?.isUniqueViolation == true
            }
            // The connection stays usable after a failed statement.
            #expect(try db.query("SELECT count(*) FROM t").int(0, 0) == 1)
        }
    }

    @Test func preparedStatementsAreReusedAcrossCalls() async throws {
        try await onThread {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            let add = PreparedStatement(name: "add", sql: "SELECT $1::int + $2::int")
            #expect(try db.execute(add, ["2", "3"]).int(0, 0) == 5)
            #expect(try db.execute(add, ["40", "2"]).int(0, 0) == 42)
        }
    }

    @Test func aTransactionRollsBackWhenItsBodyThrows() async throws {
        struct Abort: Error {}
        try await onThread {
            let db = try PostgresConnection(url: LabEnvironment.postgresURL ?? "")
            try db.execute("CREATE TEMP TABLE r (id int)")
            #expect(throws: Abort.self) {
                try db.transaction {
                    try db.execute("INSERT INTO r VALUES (1)")
                    throw Abort()
                }
            }
            #expect(try db.query("SELECT count(*) FROM r").int(0, 0) == 0)
        }
    }

    @Test func anUnreachableServerFailsFastInOneLineNamingIt() async throws {
        try await onThread {
            let start = Date()
            #expect {
                _ = try PostgresConnection(url: "postgresql://nobody@127.0.0.1:1/none")
            } throws: { error in
                let message = String(describing: error)
                return message.hasPrefix("cannot reach PostgreSQL at 127.0.0.1:1") && !message.contains("\n")
            }
            #expect(Date().timeIntervalSince(start) < 10)
        }
    }
}

@Suite struct PostgresURLTests {
    @Test func aMalformedURLIsRejectedBeforeConnecting() {
        #expect {
            _ = try PostgresConnection(url: "postgresql://host:notaport/db")
        } throws: { error in
            (error as? PostgresError)?.kind == .invalidURL || (error as? PostgresError)?.kind == .connect
        }
    }
}
