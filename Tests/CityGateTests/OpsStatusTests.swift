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
        // Shenzhen's hall backend is down (nothing listens): the boot-time probe finds out.
        let probed = await eventually(timeout: .seconds(10)) {
            let status = (try? CallEndToEndTests.json(try Self.ops(environment, "/status"))) ?? [:]
            let backends = status["backends"] as? [[String: Any]] ?? []
            return backends.first { $0["name"] as? String == "440300/halls" }?["lastFailureReason"] != nil
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
        let text = try Self.ops(environment, "/status").text
        for secret in ["webhooks-demo.secret", "whsec_", "BEGIN"] { #expect(!text.contains(secret)) }
    }
}
