import CityGate
import Foundation
import TestSupport
import Testing

/// `/status` and `/readyz` on the ops listener of the gateway binary.
@Suite(.serialized)
struct OpsStatusTests {
    typealias Environment = CallEndToEndTests.Environment

    static func ops(_ environment: Environment, _ path: String) throws -> RawClient.Response {
        let client = try RawClient(port: environment.gateway.opsPort)
        try client.send("GET \(path) HTTP/1.1\r\nHost: ops\r\n\r\n")
        return try client.readResponse()
    }

    @Test
    func statusShowsManifestsBackendsAndTheInbox() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        let ready = try CallEndToEndTests.json(try Self.ops(environment, "/readyz"))
        #expect((ready["checks"] as? [String: String])?["event-workers"] == "pass")
        // Shenzhen's hall backend is down (nothing listens), Hangzhou's is up: the boot-time probes
        // find out both (each in its own time: waiting for one only made this test race).
        let probed = await eventually(timeout: .seconds(10)) {
            let status = (try? CallEndToEndTests.json(try Self.ops(environment, "/status"))) ?? [:]
            let backends = status["backends"] as? [[String: Any]] ?? []
            return backends.first { $0["name"] as? String == "440300/halls" }?["lastFailureReason"] != nil
                && backends.first { $0["name"] as? String == "330100/halls" }?["lastSuccessAt"] != nil
        }
        #expect(probed)
        let status = try CallEndToEndTests.json(try Self.ops(environment, "/status"))
        #expect(status["service"] as? String == "citygate")
        #expect((status["manifests"] as? [String: Any])?["sha256"] as? String != nil)
        let backends = try #require(status["backends"] as? [[String: Any]])
        let down = try #require(backends.first { $0["name"] as? String == "440300/halls" })
        #expect(down["state"] as? String != "healthy", "\(down)")
        let up = try #require(backends.first { $0["name"] as? String == "330100/halls" })
        #expect(up["lastSuccessAt"] != nil, "\(up)")
        let cities = try #require(status["cities"] as? [[String: Any]])
        let shenzhen = try #require(cities.first { $0["code"] as? String == "440300" })
        let traffic = (shenzhen["services"] as? [[String: Any]])?.first { $0["id"] as? String == "traffic.violations" }
        #expect(traffic?["enabled"] as? Bool == false)
        // Events: the workers run, and a fresh inbox has nothing pending.
        let events = try #require(status["events"] as? [String: Any])
        #expect(events["workersRunning"] as? Bool == true)
        #expect(events["pending"] as? Int == 0)
        #expect(status["rateLimitRefusals"] as? [String: Double] != nil)
        let text = try Self.ops(environment, "/status").text
        for secret in ["webhooks-demo.secret", "whsec_", "BEGIN"] { #expect(!text.contains(secret)) }
    }
}

extension OpsStatusTests {
    @Test
    func metricsParseWithPrometheusClientAndCountWhatHappened() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        #expect(
            try environment.call("webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
                .statusCode == 200)
        var forged = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
            path: "/v1/cities/330100/services/service-hall.queue/status", body: Array(#"{"hall":"west-lake"}"#.utf8))
        forged.body = Array(#"{"hall":"futian"}"#.utf8)
        #expect(try environment.send(forged).statusCode == 401)
        #expect(try EventEndToEndTests.caseEvent(environment, id: "msg_metrics_1").statusCode == 204)
        let scrape = try Self.ops(environment, "/metrics")
        #expect(scrape.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let parsed = try await Interop.run(["text": scrape.text], script: "metrics.py")
        let families = try #require(parsed["families"] as? [String: [String: Any]], "\(parsed)")
        func samples(_ name: String) -> [[String: Any]] { families[name]?["samples"] as? [[String: Any]] ?? [] }
        #expect(families["citygate_requests"]?["type"] as? String == "counter")
        let ok = samples("citygate_requests").first {
            ($0["labels"] as? [String: String]) == [
                "city": "330100", "service": "service-hall.queue", "operation": "status", "partner": "webhooks-demo",
                "status": "200",
            ] && ($0["name"] as? String) == "citygate_requests_total"
        }
        #expect(ok?["value"] as? Double == 1, "\(samples("citygate_requests"))")
        let failure = samples("citygate_verification_failures").first {
            ($0["labels"] as? [String: String])?["reason"] == "signature-mismatch"
        }
        #expect(failure?["value"] as? Double == 1)
        #expect(families["citygate_request_duration_seconds"]?["type"] as? String == "histogram")
        #expect(families["citygate_backend_duration_seconds"]?["type"] as? String == "histogram")
        let stored = samples("citygate_events_received").first {
            ($0["labels"] as? [String: String])?["outcome"] == "stored"
        }
        #expect(stored?["value"] as? Double == 1)
        #expect(samples("process_resident_memory_bytes").first?["value"] as? Double ?? 0 > 1_000_000)
        #expect(samples("citygate_backend_breaker_state").count >= 5)
        #expect(samples("citygate_inbox_events").count == 4)
        #expect(samples("citygate_open_connections").first?["value"] as? Double ?? 0 >= 1, "this scrape's own")
    }
}

extension OpsStatusTests {
    @Test
    func statusPageRendersInARealBrowser() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        let client = try RawClient(port: environment.gateway.opsPort)
        try client.send("GET /status HTTP/1.1\r\nHost: ops\r\nAccept: text/html,application/xhtml+xml\r\n\r\n")
        let page = try client.readResponse()
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        for text in [
            "<meta name=\"viewport\"", "440300/halls", "traffic.violations", "paused", "Partner events",
            // zh-CN with English beside it: city and service names in both languages.
            "<b>330200 宁波市</b> <span lang=\"en\">Ningbo</span>",
            "住房公积金账户查询 <span lang=\"en\">Housing provident fund account</span>", "暂停 paused",
        ] {
            #expect(page.text.contains(text), "\(text)")
        }
        #expect(!page.text.contains("<script"), "no scripts")
        #expect(!page.text.contains("http://") && !page.text.contains("https://"), "no external assets")
        // Headless Chromium (from Debian, installed by make test) renders it at a phone's size.
        let screenshot = ExternalProcess.packageRoot.appendingPathComponent(".build/status-page.png").path
        try? FileManager.default.removeItem(atPath: screenshot)
        let browser = try await ExternalProcess.run(
            "/usr/bin/timeout",
            [
                "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=412,915", "--screenshot=\(screenshot)",
                "http://127.0.0.1:\(environment.gateway.opsPort)/status",
            ])
        #expect(browser.status == 0, "\(browser.standardError)")
        let attributes = try FileManager.default.attributesOfItem(atPath: screenshot)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        #expect(size > 10_000, "a rendered page, not a blank one (\(size) bytes)")
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
