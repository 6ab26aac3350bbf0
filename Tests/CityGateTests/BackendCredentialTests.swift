import CityGate
import Foundation
import HTTPCore
import TestSupport
import Testing

/// Backend credentials through the binaries: the traffic police system's API key and the approvals
/// system's OAuth 2 client-credentials token (fetched once, cached, fetched anew after a 401), and
/// neither ever in `/status`, the log or a problem.
@Suite(.serialized)
struct BackendCredentialTests {
    typealias Environment = CallEndToEndTests.Environment

    static func issued(_ environment: Environment) throws -> Int {
        let client = try RawClient(port: UInt16(try #require(environment.mockPorts["approvals"])))
        try client.send("GET /_mock/oauth HTTP/1.1\r\nHost: mock\r\n\r\n")
        return try #require(try CallEndToEndTests.json(client.readResponse())["issued"] as? Int)
    }

    static func revokeTokens(_ environment: Environment) throws {
        let client = try RawClient(port: UInt16(try #require(environment.mockPorts["approvals"])))
        try client.send("POST /_mock/oauth/revoke HTTP/1.1\r\nHost: mock\r\nContent-Length: 0\r\n\r\n")
        _ = try client.readResponse()
    }

    @Test
    func tokensAreFetchedOnceRefreshedAfterA401AndSecretsNeverShow() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        let token = try await CaseEndToEndTests.token(
            environment, partner: "webhooks-demo", citizen: CaseEndToEndTests.applicant)
        #expect(try Self.issued(environment) == 0, "no token before the first call")
        // Four calls at once, then one more: one token fetched for all of them.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { _ = try CaseEndToEndTests.apply(environment, partner: "webhooks-demo", token: token) }
            }
            try await group.waitForAll()
        }
        _ = try CaseEndToEndTests.apply(environment, partner: "webhooks-demo", token: token)
        #expect(try Self.issued(environment) == 1, "one token for every call")
        // (The mock answers its permit API only with a bearer token it issued and still honours,
        // and the traffic API only with the key in mocks/keys: each 200 here is that check.)

        // The approvals system forgets its tokens: the next call is answered after one new token.
        try Self.revokeTokens(environment)
        _ = try CaseEndToEndTests.apply(environment, partner: "webhooks-demo", token: token)
        #expect(try Self.issued(environment) == 2)

        // The API key reaches the traffic police system by name.
        let lookup = try OAuthEndToEndTests.call(
            environment, "traffic.violations", "lookup", input: #"{"plate":"A12345","engineTail":"ABC123"}"#,
            token: try await CaseEndToEndTests.token(
                environment, partner: "webhooks-demo", citizen: CaseEndToEndTests.applicant, scope: "traffic.read"))
        #expect(lookup.statusCode == 200, "\(lookup.text)")
        let key = try OAuthEndToEndTests.key("traffic-api-key.secret")
        let trafficRequests = try SubjectBindingTests.requests(environment, backend: "traffic-police")
        #expect(trafficRequests.count == 1)

        // Neither secret appears in the status page, the log, or `citygate routes`.
        let clientSecret = try OAuthEndToEndTests.key("approvals-oauth-client.secret")
        let status = try RawClient(port: environment.gateway.opsPort)
        try status.send("GET /status HTTP/1.1\r\nHost: ops\r\n\r\n")
        let page = try status.readResponse().text
        let log = try String(contentsOf: environment.gateway.outputFile, encoding: .utf8)
        let routes = try await ExternalProcess.run(
            CommandLineTests.binary, ["routes", "--manifests", environment.manifests])
        for text in [page, log, routes.standardOutput] {
            #expect(!text.contains(key) && !text.contains(clientSecret) && !text.contains("mock-token-"))
        }
    }

    @Test
    func anUnreachableTokenEndpointIsAClearProblemAndNothingIsSent() async throws {
        let closed = try RawClient.unusedPort()
        let environment = try Environment(extraEdits: [
            "cities/330100.json": { city in
                var credentials = city["credentials"] as? [String: [String: Any]] ?? [:]
                credentials["approvals-oauth"]?["tokenURL"] = "http://127.0.0.1:\(closed)/oauth/token"
                city["credentials"] = credentials
            }
        ])
        defer { environment.stop() }
        let before = try SubjectBindingTests.requests(environment, backend: "approvals").count
        let token = try await CaseEndToEndTests.token(
            environment, partner: "webhooks-demo", citizen: CaseEndToEndTests.applicant)
        let response = try CaseEndToEndTests.signed(
            environment, partner: "webhooks-demo", path: "/v1/cities/330100/services/permit.application/apply",
            json: SubjectBindingTests.apply(idNumber: CaseEndToEndTests.applicant), token: token)
        #expect(response.statusCode == 502, "\(response.text)")
        let problem = try CallEndToEndTests.json(response)
        #expect(problem["type"] as? String == "tag:citygate,2026:problem:backend-credentials-unavailable")
        #expect((problem["detail"] as? String)?.contains("could not be reached") == true, "\(problem)")
        #expect(!response.text.contains(try OAuthEndToEndTests.key("approvals-oauth-client.secret")))
        #expect(try SubjectBindingTests.requests(environment, backend: "approvals").count == before)
    }
}
