import CityGate
import Foundation
import HTTPCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway binary, the mock backends binary and signed partner calls over real sockets.
@Suite(.serialized)
struct CallEndToEndTests {
    /// Mock backends on ephemeral ports and a copy of the sample tree pointing at them.
    final class Environment: @unchecked Sendable {
        // @unchecked: used by one test at a time.
        let mocks = Process()
        let gateway: GatewayProcess
        let manifests: String
        /// Backend name → the mock's port.
        let mockPorts: [String: Int]

        init(extraEdits: [String: @Sendable (inout [String: Any]) -> Void] = [:], mockArguments: [String] = []) throws {
            let output = Pipe()
            mocks.executableURL = URL(
                fileURLWithPath: CommandLineTests.binary.replacingOccurrences(
                    of: "/citygate", with: "/citygate-mock-backends"))
            mocks.arguments = ["--base-port", "0"] + mockArguments
            mocks.standardOutput = output
            try mocks.run()
            let line = output.fileHandleForReading.availableData
            let ports = try #require(
                (try JSONSerialization.jsonObject(with: line) as? [String: Any])?["mockBackends"] as? [String: Int])
            mockPorts = ports
            let closedPort = try RawClient.unusedPort()
            var edits: [String: @Sendable (inout [String: Any]) -> Void] = extraEdits
            edits.merge([
                "cities/330100.json": { city in
                    var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                    for (name, port) in ports { backends[name]?["baseURL"] = "http://127.0.0.1:\(port)" }
                    city["backends"] = backends
                    // The approvals system's token endpoint moves with it.
                    var credentials = city["credentials"] as? [String: [String: Any]] ?? [:]
                    if let port = ports["approvals"], credentials["approvals-oauth"] != nil {
                        credentials["approvals-oauth"]?["tokenURL"] = "http://127.0.0.1:\(port)/oauth/token"
                        city["credentials"] = credentials
                    }
                },
                "cities/330200.json": { city in
                    var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                    for (name, port) in ports { backends[name]?["baseURL"] = "http://127.0.0.1:\(port)" }
                    city["backends"] = backends
                },
                "cities/440300.json": { city in
                    var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                    for (name, port) in ports { backends[name]?["baseURL"] = "http://127.0.0.1:\(port)" }
                    // Shenzhen's hall backend is down: nothing listens there.
                    backends["halls"]?["baseURL"] = "http://127.0.0.1:\(closedPort)"
                    city["backends"] = backends
                },
            ]) { extra, base in
                // Both edit the same file: the base edit (backend ports) first, then the test's.
                { object in
                    base(&object)
                    extra(&object)
                }
            }
            do {
                manifests = try ManifestSetTests.brokenTree(edits)
                gateway = try GatewayProcess.start(manifests: manifests)
            } catch {
                // An orphaned mock would hold the test runner's output pipe open: `swift test`
                // would wait for it forever instead of reporting the failure.
                kill(mocks.processIdentifier, SIGKILL)
                mocks.waitUntilExit()
                throw error
            }
        }

        func stop() {
            gateway.terminate()
            _ = gateway.waitForExit()
            kill(mocks.processIdentifier, SIGKILL)
            mocks.waitUntilExit()
        }

        func partner(_ id: String) throws -> PartnerConfiguration {
            try PartnerConfiguration.load(path: "\(manifests)/partners/\(id).json", displayName: id).get()
        }

        /// Signs `input` as `partnerId` for `city/service/operation` and sends it.
        func call(_ partnerId: String, city: String = "330100", _ service: String, _ operation: String, input: String)
            throws -> RawClient.Response
        {
            let signed = try RequestSigner(partner: try partner(partnerId)).sign(
                path: "/v1/cities/\(city)/services/\(service)/\(operation)", body: Array(input.utf8))
            return try send(signed)
        }

        /// Sends `signed`, from the loopback address `source` when given (another client machine).
        func send(_ signed: SignedRequest, from source: String? = nil, tls: TestTLSClient.Options? = nil) throws
            -> RawClient.Response
        {
            let client = try RawClient(port: gateway.publicPort, source: source, tls: tls)
            let target = signed.rawQuery.map { "\(signed.path)?\($0)" } ?? signed.path
            var head =
                "\(signed.method) \(target) HTTP/1.1\r\nHost: gateway\r\nContent-Length: \(signed.body.count)\r\n"
            for field in signed.headers { head += "\(field.name): \(field.value)\r\n" }
            try client.send(Array((head + "\r\n").utf8) + signed.body)
            return try client.readResponse()
        }

        func get(_ path: String) throws -> RawClient.Response {
            let client = try RawClient(port: gateway.publicPort)
            try client.send("GET \(path) HTTP/1.1\r\nHost: gateway\r\n\r\n")
            return try client.readResponse()
        }
    }

    static func json(_ response: RawClient.Response) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test
    func partnerCallsReachTheBackendAndComeBackMapped() throws {
        let environment = try Environment()
        defer { environment.stop() }
        for partnerId in ["webhooks-demo", "wechat-city"] {
            let response = try environment.call(
                partnerId, "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
            #expect(response.statusCode == 200, "\(partnerId): \(response.text)")
            let body = try Self.json(response)
            #expect(body["waiting"] as? Int == 9)
            #expect(body["estimatedMinutes"] as? Int == 27)
            #expect(response.header("X-Request-Id") != nil)
        }
        let generic = try environment.call(
            "hmac-demo", city: "440300", "service-hall.queue", "status", input: #"{"hall":"futian"}"#)
        #expect(generic.statusCode == 502, "Shenzhen's hall backend is down")
        #expect(try Self.json(generic)["type"] as? String == "tag:citygate,2026:problem:backend-unavailable")
        #expect(generic.text.contains("'halls'"))
    }

    @Test
    func everyStepRefusesWithItsOwnProblem() throws {
        let environment = try Environment()
        defer { environment.stop() }
        func slug(_ response: RawClient.Response) throws -> String {
            String((try Self.json(response)["type"] as? String ?? "").dropFirst("tag:citygate,2026:problem:".count))
        }
        let unknownCity = try environment.call(
            "webhooks-demo", city: "110000", "service-hall.queue", "status", input: "{}")
        #expect(unknownCity.statusCode == 404)
        #expect(try slug(unknownCity) == "unknown-city")
        let disabled = try environment.call(
            "webhooks-demo", city: "440300", "traffic.violations", "lookup", input: "{}")
        #expect(disabled.statusCode == 503)
        #expect(try slug(disabled) == "service-disabled")
        #expect(try Self.json(disabled)["noticeZh"] as? String == "系统升级中，预计 12 月 1 日恢复。")
        let notAllowed = try environment.call(
            "hmac-demo", city: "330100", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
        #expect(notAllowed.statusCode == 403)
        #expect(try slug(notAllowed) == "partner-not-allowed")
        let realName = try environment.call(
            "webhooks-demo", "permit.application", "progress", input: #"{"caseNumber":"330100-2026-000001"}"#)
        #expect(realName.statusCode == 401)
        #expect(try slug(realName) == "token-required")
        #expect(realName.header("WWW-Authenticate") == "Bearer realm=\"citygate\"")
        let invalid = try environment.call("webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"x"}"#)
        #expect(invalid.statusCode == 422)
        #expect(try slug(invalid) == "invalid-input")
        #expect((try Self.json(invalid)["errors"] as? [[String: String]])?.first?["path"] == "$.hall")
        let mapped = try environment.call(
            "webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"nowhere"}"#)
        #expect(mapped.statusCode == 404)
        #expect(try slug(mapped) == "hall-not-found")

        // Tampering, replay and an unknown partner, with real signatures.
        var signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
            path: "/v1/cities/330100/services/service-hall.queue/status", body: Array(#"{"hall":"west-lake"}"#.utf8))
        #expect(try environment.send(signed).statusCode == 200)
        let replay = try environment.send(signed)
        #expect(replay.statusCode == 409)
        #expect(try slug(replay) == "replayed")
        signed.body = Array(#"{"hall":"futian"}"#.utf8)
        let tampered = try environment.send(signed)
        #expect(tampered.statusCode == 401)
        #expect(try slug(tampered) == "signature-mismatch")
        #expect(try Self.json(tampered)["canonicalSha256"] != nil, "webhooks-demo has debugSignatures on")
        signed.headers.replaceOrAdd(name: "X-Partner-Id", value: "nobody")
        #expect(try slug(try environment.send(signed)) == "unknown-partner")
    }

    /// Bodies that are not JSON (or name a member twice, so the schema and the backend request
    /// could read different values): 400 naming the byte and the rule, never echoing the body.
    @Test
    func malformedBodiesAnswer400NamingWhereAndWhy() throws {
        let environment = try Environment()
        defer { environment.stop() }
        let cases: [(String, String, Int, String)] = [
            ("unterminated", #"{"hall":"west-lake""#, 400, "at byte 19: unexpected end of the text inside an object"),
            ("duplicate", #"{"hall":"west-lake","hall":"futian"}"#, 400, "at byte 20: a member name appears twice"),
            ("trailing comma", #"{"hall":"west-lake",}"#, 400, "at byte 20: expected a member name in double quotes"),
            ("not an object", #"["west-lake"]"#, 422, ""),
            ("whitespace only", "  \n", 422, ""),
        ]
        for (name, body, status, detail) in cases {
            let response = try environment.call("webhooks-demo", "service-hall.queue", "status", input: body)
            #expect(response.statusCode == status, "\(name)")
            #expect(response.header("Content-Type") == "application/problem+json", "\(name)")
            let problem = try Self.json(response)
            #expect(problem["requestId"] as? String != nil, "\(name)")
            if status == 400 {
                #expect(problem["type"] as? String == "tag:citygate,2026:problem:invalid-json", "\(name)")
                #expect((problem["detail"] as? String ?? "").contains(detail), "\(name): \(problem)")
            }
            #expect(!response.text.contains("west-lake") && !response.text.contains("futian"), "\(name)")
        }
    }

    /// A header the manifest fills from the input: a line break in the value is refused before
    /// any backend call, naming the header and not the value.
    @Test
    func headerInjectionThroughTheInputIsRefused() throws {
        let environment = try Environment(extraEdits: [
            "services/service-hall.queue.json": { service in
                var operations = service["operations"] as? [String: [String: Any]] ?? [:]
                var request = operations["status"]?["request"] as? [String: Any] ?? [:]
                request["headers"] = ["X-Hall": "{input.hall}"]
                operations["status"]?["request"] = request
                operations["status"]?["input"] = [
                    "type": "object", "required": ["hall"], "properties": ["hall": ["type": "string"]],
                ]
                service["operations"] = operations
            }
        ])
        defer { environment.stop() }
        let fine = try environment.call(
            "webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
        #expect(fine.statusCode == 200)
        let injected = try environment.call(
            "webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake\r\nX-Injected: 1"}"#)
        #expect(injected.statusCode == 422)
        let problem = try Self.json(injected)
        #expect(problem["type"] as? String == "tag:citygate,2026:problem:invalid-input")
        #expect(
            problem["detail"] as? String
                == "A value for the backend's X-Hall header contains a line break or control character.")
        #expect(!injected.text.contains("X-Injected"))
    }

    @Test
    func rateLimitsAnswer429WithTheIETFFields() throws {
        let environment = try Environment(extraEdits: [
            "services/service-hall.queue.json": {
                $0["rateLimits"] = [["scope": "partner", "limit": 1, "period": "1m", "burst": 1]]
            }
        ])
        defer { environment.stop() }
        let first = try environment.call(
            "webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
        #expect(first.statusCode == 200)
        #expect(first.header("RateLimit-Policy") == "\"partner\";q=1;w=60")
        #expect(first.header("RateLimit") == "\"partner\";r=1;t=60")
        #expect(
            try environment.call("webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
                .statusCode == 200)
        let refused = try environment.call(
            "webhooks-demo", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
        #expect(refused.statusCode == 429)
        #expect(try Self.json(refused)["type"] as? String == "tag:citygate,2026:problem:rate-limited")
        #expect(refused.header("Retry-After") == "60")
        #expect(refused.header("RateLimit") == "\"partner\";r=0;t=120")
        // Another partner has its own allowance.
        #expect(
            try environment.call("wechat-city", "service-hall.queue", "status", input: #"{"hall":"west-lake"}"#)
                .statusCode == 200)
    }

    @Test
    func catalogAndGuide() throws {
        let environment = try Environment()
        defer { environment.stop() }
        let catalog = try Self.json(try environment.get("/v1/cities/330100/services"))
        let services = try #require(catalog["services"] as? [[String: Any]])
        #expect(
            services.compactMap { $0["id"] as? String } == [
                "household.appointment", "permit.application", "service-hall.queue", "social-security.account",
                "traffic.violations",
            ])
        let shenzhen = try #require(
            try Self.json(try environment.get("/v1/cities/440300/services"))["services"] as? [[String: Any]])
        let traffic = try #require(shenzhen.first { $0["id"] as? String == "traffic.violations" })
        #expect(traffic["enabled"] as? Bool == false)
        #expect((traffic["notice"] as? [String: String])?["en"] == "Upgrading; back on 1 December.")
        let guide = try Self.json(try environment.get("/v1/cities/330100/services/permit.application"))
        #expect((guide["timeLimits"] as? [String: Int])?["legalDays"] == 20)
        // The time limits as dates, counted in Hangzhou's working days for a case received now.
        let calendar = try WorkingCalendarTests.hangzhou()
        let deadlines = try #require(guide["deadlinesIfReceivedNow"] as? [String: String])
        let expected = [Int64(Date().timeIntervalSince1970) - 5, Int64(Date().timeIntervalSince1970)].map {
            calendar.deadlines(receivedAt: $0, legalDays: 20, promisedDays: 10)
        }
        #expect(
            expected.contains {
                deadlines["countsFrom"] == $0.countsFrom.description && deadlines["legalBy"] == $0.legalBy.description
                    && deadlines["promisedBy"] == $0.promisedBy.description
            }, "\(deadlines)")
        let operations = try #require(guide["operations"] as? [[String: Any]])
        #expect(operations.compactMap { $0["name"] as? String } == ["apply", "progress"])
        #expect(operations.first?["input"] as? [String: Any] != nil)
        // Partners are told which input fields must be the citizen's own.
        #expect(operations.first?["bind"] as? [String: String] == ["applicant.idNumber": "subject.raw"])
        #expect(operations.last?["bind"] == nil)
        // What each answer holds, and the service's own problem slugs.
        #expect(operations.first?["output"] as? [String] == ["caseNumber", "promisedDays", "stage"])
        #expect(operations.first?["errors"] as? [String] == ["application-rejected"])
        let fund = try Self.json(try environment.get("/v1/cities/330200/services/housing-fund.account"))
        let query = try #require((fund["operations"] as? [[String: Any]])?.first)
        #expect((query["output"] as? [String])?.contains("deposits") == true)
        #expect(
            query["errors"] as? [String] == ["account-not-found", "backend-credentials-refused"], "fault mappings too")
        #expect(try environment.get("/v1/cities/330100/services/dog.licence").statusCode == 404)
    }

    @Test
    func pythonStandardWebhooksClientCallsTheGateway() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        let secret = try String(
            contentsOfFile: ExternalProcess.packageRoot.appendingPathComponent("mocks/keys/webhooks-demo.secret").path,
            encoding: .utf8
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try await Interop.run([
            "op": "standardwebhooks-call", "secret": secret, "port": Int(environment.gateway.publicPort),
            "path": "/v1/cities/330100/services/service-hall.queue/status", "partner": "webhooks-demo",
            "body": #"{"hall":"citizen-center"}"#,
        ])
        #expect(answer["status"] as? Int == 200, "\(answer)")
        #expect((answer["body"] as? String)?.contains("\"waiting\":14") == true)
    }
}
