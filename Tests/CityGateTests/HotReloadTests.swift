import CityGate
import Foundation
import HTTPCore
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hot reload through the real binary: under load, refused when invalid, and on SIGHUP.
@Suite(.serialized)
struct HotReloadTests {
    static func admin(_ environment: CallEndToEndTests.Environment, _ method: String, _ path: String, token: String?)
        throws -> RawClient.Response
    {
        let client = try RawClient(port: environment.gateway.opsPort)
        let authorization = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        try client.send("\(method) \(path) HTTP/1.1\r\nHost: ops\r\n\(authorization)Content-Length: 0\r\n\r\n")
        return try client.readResponse()
    }

    static var token: String {
        (try? String(
            contentsOfFile: ExternalProcess.packageRoot.appendingPathComponent("mocks/keys/admin.token").path,
            encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Renames the queue operation's `waiting` output field.
    static func renameOutputField(in manifests: String, to name: String) throws {
        let path = "\(manifests)/services/service-hall.queue.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"waiting\": \"$.waiting\"", with: "\"\(name)\": \"$.waiting\"")
        text = text.replacingOccurrences(of: "\"waiting\":\"$.waiting\"", with: "\"\(name)\":\"$.waiting\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test
    func adminEndpointsNeedTheToken() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        #expect(try Self.admin(environment, "GET", "/admin/manifests", token: nil).statusCode == 401)
        #expect(
            try Self.admin(environment, "GET", "/admin/manifests", token: "wrong-token-wrong-token").statusCode == 401)
        let answer = try Self.admin(environment, "GET", "/admin/manifests", token: Self.token)
        #expect(answer.statusCode == 200)
        #expect(answer.text.contains("\"sha256\""))
    }

    @Test
    func reloadUnderLoadNeverFailsOrMixesSets() async throws {
        // Limits far above the loop's rate: this test is about the swap, not about refusals.
        let environment = try CallEndToEndTests.Environment(extraEdits: [
            "cities/330100.json": {
                $0["rateLimits"] = [["scope": "partner", "limit": 1_000_000, "period": "1s", "burst": 1_000_000]]
            },
            "services/service-hall.queue.json": {
                $0["rateLimits"] = [["scope": "partner", "limit": 1_000_000, "period": "1s", "burst": 1_000_000]]
            },
        ])
        defer { environment.stop() }
        let partner = try environment.partner("webhooks-demo")
        final class Tally: Sendable {
            let results = Mutex<[String]>([])
        }
        let tally = Tally()
        let stop = Date().addingTimeInterval(3)
        async let load: Void = blocking {
            while Date() < stop {
                let signed = try RequestSigner(partner: partner).sign(
                    path: "/v1/cities/330100/services/service-hall.queue/status",
                    body: Array(#"{"hall":"west-lake"}"#.utf8))
                let response = try environment.send(signed)
                let body = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
                let shape: String
                switch (response.statusCode, body["waiting"] != nil, body["queueLength"] != nil) {
                case (200, true, false): shape = "old"
                case (200, false, true): shape = "new"
                default: shape = "bad \(response.statusCode) \(response.text)"
                }
                tally.results.withLock { $0.append(shape) }
            }
        }
        try await Task.sleep(for: .milliseconds(1200))
        try Self.renameOutputField(in: environment.manifests, to: "queueLength")
        let reload = try Self.admin(environment, "POST", "/admin/reload", token: Self.token)
        #expect(reload.statusCode == 200, "\(reload.text)")
        try await load
        let results = tally.results.withLock { $0 }
        #expect(results.count > 20)
        #expect(results.filter { $0.hasPrefix("bad") }.isEmpty, "\(results.filter { $0.hasPrefix("bad") }.prefix(3))")
        #expect(results.contains("old") && results.contains("new"))
        // Once switched, never back: the swap is atomic.
        if let firstNew = results.firstIndex(of: "new") { #expect(!results[firstNew...].contains("old")) }
    }

    @Test
    func invalidTreeIsRefusedAndTheRunningSetStays() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let before = try Self.admin(environment, "GET", "/admin/manifests", token: Self.token).text
        let path = "\(environment.manifests)/services/service-hall.queue.json"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        try original.replacingOccurrences(of: "\"authLevel\": \"partner\"", with: "\"authLevel\": \"nobody\"").write(
            toFile: path, atomically: true, encoding: .utf8)
        let refused = try Self.admin(environment, "POST", "/admin/reload", token: Self.token)
        #expect(refused.statusCode == 422)
        #expect(
            refused.text.contains(
                "services/service-hall.queue.json: $.authLevel: must be one of public, partner, citizen, real-name"))
        #expect(try Self.admin(environment, "GET", "/admin/manifests", token: Self.token).text == before)
        #expect(
            try environment.call("webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
                .statusCode == 200)
    }

    @Test
    func sighupReloadsTwice() async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        for name in ["queueLength", "people"] {
            try Self.renameOutputField(in: environment.manifests, to: name)
            if name == "people" {
                let path = "\(environment.manifests)/services/service-hall.queue.json"
                let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
                    of: "queueLength", with: "people")
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }
            kill(environment.gateway.processIdentifier, SIGHUP)
            let reloaded = await eventually {
                (try? environment.call("webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#))?
                    .text.contains("\"\(name)\"") == true
            }
            #expect(reloaded, "SIGHUP reload to \(name)")
        }
        #expect(environment.gateway.output().contains("\"trigger\":\"SIGHUP\""))
    }
}

/// A reload keeps the state of every backend whose definition did not change (breaker, bulkhead,
/// health history); it used to build every backend client anew, so each reload forgot that a
/// backend was failing.
@Suite(.serialized)
struct ReloadKeepsBackendStateTests {
    static func backend(_ environment: CallEndToEndTests.Environment, _ name: String) throws -> [String: Any] {
        let client = try RawClient(port: environment.gateway.opsPort)
        try client.send("GET /status HTTP/1.1\r\nHost: ops\r\nAccept: application/json\r\n\r\n")
        let status = try CallEndToEndTests.json(try client.readResponse())
        let backends = status["backends"] as? [[String: Any]] ?? []
        return try #require(backends.first { $0["name"] as? String == name }, "\(backends)")
    }

    static func reload(_ environment: CallEndToEndTests.Environment) throws {
        let answer = try HotReloadTests.admin(environment, "POST", "/admin/reload", token: HotReloadTests.token)
        #expect(answer.statusCode == 200, "\(answer.text)")
    }

    static func edit(
        _ environment: CallEndToEndTests.Environment, _ file: String, _ change: (inout [String: Any]) -> Void
    )
        throws
    {
        let url = URL(fileURLWithPath: "\(environment.manifests)/\(file)")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }

    @Test
    func unchangedBackendsKeepTheirStateAndChangedOnesStartAfresh() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        // Shenzhen's halls backend is down in this environment: one call records the failure.
        let failed = try environment.call(
            "hmac-demo", city: "440300", "service-hall.queue", "status", input: #"{"hall":"futian"}"#)
        #expect(failed.statusCode == 502)
        let before = try Self.backend(environment, "440300/halls")
        let failures = try #require(before["consecutiveFailures"] as? Int)
        #expect(failures > 0)
        // Another file changes: the halls backend is the same, and so is everything it knew.
        try Self.edit(environment, "services/traffic.violations.json") { $0["version"] = "2.0.9" }
        try Self.reload(environment)
        let kept = try Self.backend(environment, "440300/halls")
        #expect(kept["consecutiveFailures"] as? Int == failures)
        #expect(kept["lastFailureAt"] as? Double == before["lastFailureAt"] as? Double)
        // Its own definition changes: a new client with a history of its own (its first probe,
        // at once, may already have failed).
        try Self.edit(environment, "cities/440300.json") { city in
            var backends = city["backends"] as? [String: [String: Any]] ?? [:]
            backends["halls"]?["maxConnections"] = 7
            city["backends"] = backends
        }
        try Self.reload(environment)
        let fresh = try Self.backend(environment, "440300/halls")
        #expect((fresh["consecutiveFailures"] as? Int ?? 0) < failures, "\(fresh)")
        #expect(fresh["lastFailureAt"] as? Double != before["lastFailureAt"] as? Double)
    }
}
