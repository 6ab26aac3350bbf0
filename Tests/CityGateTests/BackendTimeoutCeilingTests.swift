import CityGate
import Foundation
import TestSupport
import Testing

/// `cities/<code>.json` `backends.<name>.timeoutMs` is the longest the gateway waits on that
/// backend (it used to be parsed, documented and read by nothing).
@Suite(.serialized)
struct BackendTimeoutCeilingTests {
    @Test
    func theBackendsTimeoutCapsTheOperations() throws {
        // A backend that takes every request and answers nothing for 5 s.
        let silent = try ScriptedTCPServer(script: [.sleep(milliseconds: 5_000), .close(reset: false)])
        defer { silent.stop() }
        let environment = try CallEndToEndTests.Environment(extraEdits: [
            "cities/330100.json": { city in
                var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                backends["halls"]?["baseURL"] = "http://127.0.0.1:\(silent.port)"
                backends["halls"]?["timeoutMs"] = 300
                city["backends"] = backends
                // The service's own override asks for more; the backend's ceiling wins.
                var services = city["services"] as? [String: [String: Any]] ?? [:]
                services["service-hall.queue"]?["timeoutMs"] = 4_000
                city["services"] = services
            }
        ])
        defer { environment.stop() }
        let started = Date()
        let response = try environment.call(
            "webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
        let elapsed = Date().timeIntervalSince(started)
        #expect(response.statusCode == 504, "\(response.text)")
        #expect(response.text.contains("backend-timeout"))
        #expect(elapsed < 2.5, "cut at the backend's 300 ms, not the 4 s override (\(elapsed) s)")
    }
}
