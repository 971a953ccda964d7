import Foundation
import Hummingbird
import HummingbirdTesting
import LabTestSupport
import Testing

@testable import RaceLabServer

extension LiveServerLab {
    /// The dashboard at `/` opened in a real headless Chromium after a stampede through the real pipeline: its
    /// numbers must match the database.
    @Suite(.enabled(if: Chromium.available, "install chromium (scripts/setup does) for the dashboard test"))
    struct DashboardTests {
        static let itemId = 9100

        @Test func dashboardShowsTheStampedesStockSoldAndOutcomesLikeTheDatabase() async throws {
            let (dom, item, purchased, storyText) = try await withLiveAPI(setup: .live) { client in
                let port = try #require(client.port)
                let (item, purchased) = try await Self.stampede(client)
                let story = try await client.send(.get, "/stampedes/last/story")
                #expect(story.status == .ok)
                let dom = try await Chromium.dumpDOM(of: "http://127.0.0.1:\(port)/")
                return (dom, item.mapValues { "\($0)" }, purchased, String(buffer: story.body))
            }
            #expect(item["stock"] == "0")
            #expect(item["sold"] == "1")
            let row = try #require(Self.element(in: dom, containing: #"data-item="\#(Self.itemId)""#), "no row for item \(Self.itemId) in the page")
            #expect(row.contains(#"data-stock="\#(item["stock"] ?? "?")""#), "\(row)")
            #expect(row.contains(#"data-sold="\#(item["sold"] ?? "?")""#), "\(row)")
            #expect(!row.contains("oversold"), "\(row)")
            let counter = try #require(Self.element(in: dom, containing: #"id="count-purchased""#), "no purchased counter in the page")
            let shown = counter.firstMatch(of: /data-count="(\d+)"/).flatMap { Int($0.1) }
            #expect(shown == purchased, "\(counter)")
            #expect((shown ?? 0) >= 1)
            #expect(dom.contains(#"id="latency-p99""#))
            #expect(dom.contains(#"id="harness" data-runs="0" data-forwarded="0""#))  // no harness ran through this server

            // How it raced, told from the 100 traced attempts (each buyer's, retries aside) and drawn.
            let story = try #require(try JSONSerialization.jsonObject(with: Data(storyText.utf8)) as? [String: Any])
            #expect(story["strategy"] as? String == "pessimistic")
            #expect((story["attempts"] as? Int ?? 0) >= 100)
            #expect(story["lostUpdates"] as? Int == 0)
            let lines = try #require(story["lines"] as? [String])
            #expect(lines.contains { $0.hasPrefix("Lock queue:") || $0.hasPrefix("Locks: 100 granted") }, "\(lines)")
            #expect((story["svg"] as? String)?.hasPrefix("<svg class=\"timeline\"") == true)
            // The page shows the same story and timeline.
            let race = try #require(Self.element(in: dom, containing: #"id="race""#), "no race section in the page")
            #expect(!race.contains("hidden"), "\(race)")
            #expect(dom.contains("class=\"timeline\""))
        }

        @Test(
            arguments: [
                (#"{"strategy": "yolo", "buyers": 10, "stock": 1}"#, 422, "strategy"),
                (#"{"strategy": "naive", "buyers": 0, "stock": 1}"#, 422, "buyers"),
                (#"{"strategy": "naive", "buyers": 100000, "stock": 1}"#, 422, "buyers"),
                (#"{"strategy": "naive", "buyers": "ten", "stock": 1}"#, 400, "buyers"),
                (#"{"strategy": "naive", "buyers": 10}"#, 400, "stock"),
                (#"{"strategy": "naive", "buyers": 10, "stock": -1}"#, 422, "stock"),
                (#"{"strategy": "naive", "buyers": 10, "stock": 1, "itemId": 0}"#, 422, "itemId"),
                (#"{"strategy": "naive", "buyers": 10, "stock": 1, "thinkMs": 999999}"#, 422, "thinkMs"),
                ("nonsense", 400, "body"),
            ]
        )
        func badStampedesAreProblemsNamingTheField(body: String, status: Int, field: String) async throws {
            let problem = try await withLiveAPI { client in
                let response = try await client.send(.post, "/stampedes", body: body)
                #expect(response.headers[.contentType] == "application/problem+json")
                return try response.json.mapValues { "\($0)" }
            }
            #expect(problem["status"] == "\(status)")
            #expect(problem["field"] == field)
        }

        @Test func dashboardIsSelfContained() async throws {
            let html = try await withLiveAPI { client in String(buffer: try await client.send(.get, "/").body) }
            #expect(html.contains("new EventSource('/events')"))
            #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<script src"))
        }

        /// Fires 100 pessimistic buyers at the item with stock 1 through `POST /stampedes`, waits until `/stats`
        /// counts none pending, and returns the item and the purchased count.
        private static func stampede(_ client: any TestClientProtocol) async throws -> ([String: Any], Int) {
            let fired = try await client.send(
                .post,
                "/stampedes",
                body: #"{"strategy": "pessimistic", "buyers": 100, "stock": 1, "itemId": \#(itemId)}"#
            )
            try #require(fired.status == .accepted)
            #expect(try fired.json["count"] as? Int == 100)
            #expect(try (fired.json["requestIds"] as? [String])?.count == 100)
            var stats: [String: Any] = [:]
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                stats = try await client.send(.get, "/stats").json
                if stats["pending"] as? Int == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(stats["pending"] as? Int == 0)
            let purchased = (stats["outcomes"] as? [String: Any])?["purchased"] as? Int ?? 0
            let item = try await client.send(.get, "/items/\(itemId)").json
            return (item, purchased)
        }

        /// The start tag of the first element whose attributes contain `marker`.
        private static func element(in dom: String, containing marker: String) -> String? {
            guard let hit = dom.range(of: marker) else { return nil }
            guard let open = dom[..<hit.lowerBound].lastIndex(of: "<"), let close = dom[hit.upperBound...].firstIndex(of: ">") else { return nil }
            return String(dom[open...close])
        }
    }
}

/// Debian's Chromium, headless.
enum Chromium {
    static let path = "/usr/bin/chromium"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The page's DOM once it has loaded, from `chromium --dump-dom`; the browser runs on its own thread and
    /// is killed after a minute. No `--virtual-time-budget`: virtual time stops while a fetch is open, and
    /// the page's event stream never ends, so the budget would never run out. The server puts the numbers
    /// in the page, so they are in the DOM at load.
    static func dumpDOM(of url: String) async throws -> String {
        try await onThread {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            let profile = FileManager.default.temporaryDirectory.appendingPathComponent("racelab-chromium-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: profile) }
            process.arguments = [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                "--dump-dom", url,
            ]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
            DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            watchdog.cancel()
            return String(decoding: data, as: UTF8.self)
        }
    }
}
