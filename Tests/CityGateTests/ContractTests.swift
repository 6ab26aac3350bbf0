import CityGate
import Foundation
import TestSupport
import Testing

/// The OpenAPI document each city publishes, checked by tools nobody here wrote:
/// openapi-spec-validator says it is valid OpenAPI 3.1, and schemathesis drives every documented
/// operation through a proxy that signs each generated request as the partner would — every
/// answer must be a documented status with a documented content type and body, and never a 5xx
/// other than a backend's own (502, 503, 504).
@Suite(.serialized)
struct ContractTests {
    typealias OAuth = OAuthEndToEndTests

    @Test
    func everyCitysDocumentIsValidOpenAPI() async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        for city in ["330100", "330200", "440300"] {
            let result = try await Interop.run(
                [
                    "op": "validate-openapi",
                    "url": "http://127.0.0.1:\(environment.gateway.publicPort)/v1/cities/\(city)/openapi.json",
                ],
                script: "contracts.py")
            #expect(result["valid"] as? Bool == true, "\(city): \(result)")
            let paths = result["paths"] as? [String] ?? []
            #expect(paths.allSatisfy { $0.hasPrefix("/v1/cities/\(city)/services/") }, "\(paths)")
            #expect(!paths.contains { $0.contains("consentRevoked") }, "event-only operations are not documented")
        }
        // Paused services are left out: Shenzhen's traffic.violations.
        let shenzhen = try CallEndToEndTests.json(try environment.get("/v1/cities/440300/openapi.json"))
        let paths = try #require(shenzhen["paths"] as? [String: Any])
        #expect(paths.keys.contains { $0.contains("traffic.violations") } == false)
        let document = try CallEndToEndTests.json(try environment.get("/v1/cities/330200/openapi.json"))
        let query = try #require(
            ((document["paths"] as? [String: Any])?["/v1/cities/330200/services/housing-fund.account/query"]
                as? [String: Any])?["post"] as? [String: Any])
        let answer = try #require(
            ((((query["responses"] as? [String: Any])?["200"] as? [String: Any])?["content"] as? [String: Any])?[
                "application/json"] as? [String: Any])?["schema"] as? [String: Any])
        let properties = try #require(answer["properties"] as? [String: Any])
        #expect((properties["balance"] as? [String: Any])?["type"] as? [String] == ["number", "null"])
        #expect((properties["openedOn"] as? [String: Any])?["format"] as? String == "date")
        #expect((properties["deposits"] as? [String: Any])?["type"] as? String == "array")
        let notFound = (query["responses"] as? [String: Any])?["404"] as? [String: Any]
        #expect((notFound?["description"] as? String)?.contains("account-not-found") == true)
        #expect(
            (query["security"] as? [[String: [String]]])?.first?["citizenToken"] == ["housing-fund.read"],
            "a real-name service needs the citizen's token with its scope")
        #expect(try environment.get("/v1/cities/999999/openapi.json").statusCode == 404)
    }

    @Test(arguments: [
        ("330100", "social-security.read traffic.read household.write permit.write permit.read halls.read"),
        ("330200", "housing-fund.read birth.write"),
    ])
    func schemathesisFindsOnlyDocumentedAnswers(_ city: String, _ scope: String) async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let result = try await Interop.run(
            [
                "op": "schemathesis", "port": Int(environment.gateway.publicPort), "city": city, "max_time": 12,
                "client_id": "webhooks-demo-app", "client_secret": try OAuth.key("webhooks-demo-client.secret"),
                "assertion_secret": try OAuth.key("webhooks-demo-assertion.secret"), "assertion_kid": "2026-11-hs",
                "partner": "webhooks-demo", "partner_secret": try OAuth.key("webhooks-demo.secret"),
                "citizen": "33010619900101123X", "scope": scope,
            ], script: "contracts.py")
        #expect(result["exit"] as? Int == 0, "\(result["output"] ?? result)")
        let statuses = try #require(result["statuses"] as? [String: Int], "\(result)")
        #expect(statuses.values.reduce(0, +) > 50, "schemathesis made calls: \(statuses)")
        let documented: Set<String> = [
            "200", "400", "401", "403", "404", "408", "409", "413", "414", "422", "429", "431", "502", "503", "504",
        ]
        #expect(Set(statuses.keys).isSubset(of: documented), "\(statuses)")
        #expect(statuses["500"] == nil && statuses["599"] == nil, "no gateway error, no dropped connection")
        #expect(statuses["422"] != nil, "generated inputs reached input validation (the signatures held)")
    }
}
