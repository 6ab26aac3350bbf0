import CityGate
import Cryptography
import Foundation
import HTTPCore
import TestSupport
import Testing

/// The token endpoint and the call route's bearer checks, through the gateway binary over real
/// sockets: OAuth client libraries from PyPI for the flows, raw requests for every refusal.
@Suite(.serialized)
struct OAuthEndToEndTests {
    typealias Environment = CallEndToEndTests.Environment
    static let keys = ExternalProcess.packageRoot.appendingPathComponent("mocks/keys")
    static let exchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let jwtType = "urn:ietf:params:oauth:token-type:jwt"

    static func key(_ name: String) throws -> String {
        try String(contentsOf: keys.appendingPathComponent(name), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// A webhooks-demo citizen assertion (HS256 demo key), with `changes` applied to the claims.
    static func assertion(
        _ subject: String = "33010619900101123X", acr: String = "real-name", city: String = "330100",
        key: [UInt8]? = nil, kid: String = "2026-11-hs", _ changes: (inout [String: Any]) -> Void = { _ in }
    ) throws -> String {
        var claims: [String: Any] = [
            "iss": "webhooks-demo-app", "sub": subject, "aud": city, "iat": now, "exp": now + 120, "acr": acr,
            "jti": UUID().uuidString,
        ]
        changes(&claims)
        return try JSONWebToken.sign(
            claims: claims, header: ["kid": kid], algorithm: .hs256,
            key: .secret(key ?? Array(try Self.key("webhooks-demo-assertion.secret").utf8)))
    }

    /// POSTs a form to `path` with Basic credentials (or none).
    static func post(
        _ environment: Environment, _ form: [(String, String)], path: String = "/oauth/token",
        client: (String, String)? = ("webhooks-demo-app", ""), contentType: String = "application/x-www-form-urlencoded"
    ) throws -> RawClient.Response {
        let body = FormEncoding.encode(form)
        var head =
            "POST \(path) HTTP/1.1\r\nHost: gateway\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
        if let (id, secret) = client {
            let password = secret.isEmpty ? try Self.key("\(id.dropLast(4))-client.secret") : secret
            head += "Authorization: Basic \(Encoding.base64(Array("\(id):\(password)".utf8)))\r\n"
        }
        let connection = try RawClient(port: environment.gateway.publicPort)
        try connection.send(head + "\r\n" + body)
        return try connection.readResponse()
    }

    static func json(_ response: RawClient.Response) throws -> [String: Any] {
        try CallEndToEndTests.json(response)
    }

    /// Exchanges an assertion for a citizen token; returns the access token.
    static func citizenToken(_ environment: Environment, _ extra: [(String, String)] = [], assertion: String? = nil)
        throws -> String
    {
        let response = try post(
            environment,
            [
                ("grant_type", exchange), ("subject_token", try assertion ?? Self.assertion()),
                ("subject_token_type", jwtType),
            ] + extra)
        #expect(response.statusCode == 200, "\(response.text)")
        return try #require(try json(response)["access_token"] as? String)
    }

    /// A signed partner call carrying `token`.
    static func call(
        _ environment: Environment, partner: String = "webhooks-demo", city: String = "330100",
        _ service: String = "social-security.account", _ operation: String = "balance",
        input: String = #"{"year":2026}"#, token: String?
    ) throws -> RawClient.Response {
        var signed = try RequestSigner(partner: try environment.partner(partner)).sign(
            path: "/v1/cities/\(city)/services/\(service)/\(operation)", body: Array(input.utf8))
        if let token { signed.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return try environment.send(signed)
    }

    @Test
    func pythonOAuthClientsRunTheWholeFlow() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        let result = try await Interop.run(
            [
                "op": "flow", "port": Int(environment.gateway.publicPort), "client_id": "webhooks-demo-app",
                "client_secret": try Self.key("webhooks-demo-client.secret"),
                "assertion_secret": try Self.key("webhooks-demo-assertion.secret"), "assertion_kid": "2026-11-hs",
                "partner": "webhooks-demo", "partner_secret": try Self.key("webhooks-demo.secret"),
                "citizen": "33010619900101123X",
                "single_city_client_id": "hmac-demo-app",
                "single_city_client_secret": try Self.key("hmac-demo-client.secret"),
            ], script: "oauth.py")
        let credentials = try #require(result["authlibClientCredentials"] as? [String: Any], "\(result)")
        #expect(result["singleCityAudience"] as? String == "440300", "no audience needed for a one-city partner")
        #expect(credentials["token_type"] as? String == "Bearer")
        #expect(credentials["scope"] as? String == "halls.read")
        #expect(credentials["expires_in"] as? Int == 600)
        #expect(result["authlibClientCredentialsRefresh"] as? Bool == false)
        #expect(result["authlibClientSecretPost"] as? String == "Bearer")
        #expect((result["requestsOAuthlib"] as? [String: Any])?["token_type"] as? String == "Bearer")
        #expect(result["wrongSecret"] as? String == "invalid_client")
        #expect(result["exchangeScope"] as? String == "permit.read social-security.read")
        #expect(result["exchangeHasRefresh"] as? Bool == true)
        let claims = try #require(result["claims"] as? [String: Any])
        #expect(claims["aud"] as? String == "330100")
        #expect(claims["acr"] as? String == "real-name")
        #expect(claims["partner"] as? String == "webhooks-demo")
        #expect(claims["client_id"] as? String == "webhooks-demo-app")
        #expect(result["subjectIsHashed"] as? Bool == true)
        #expect(result["otherAudienceRefused"] as? Bool == true)
        let call = try #require(result["call"] as? [String: Any])
        #expect(call["status"] as? Int == 200, "\(call)")
        #expect((call["body"] as? String)?.contains("\"balance\"") == true)
        let introspection = try #require(result["introspection"] as? [String: Any])
        #expect(introspection["active"] as? Bool == true)
        #expect(introspection["aud"] as? String == "330100")
        #expect(result["refreshRotated"] as? Bool == true)
        #expect(result["refreshedCall"] as? Int == 200)
        #expect(result["reuse"] as? String == "invalid_grant")
        #expect(result["familyAfterReuse"] as? String == "invalid_grant", "reuse revokes the whole family")
        #expect(result["callAfterReuse"] as? Int == 401, "the family's access tokens die with it")
        #expect(result["revokeStatus"] as? Int == 200)
        #expect(result["introspectRevoked"] as? Bool == false)
        let revoked = try #require(result["callRevoked"] as? [String: Any])
        #expect(revoked["status"] as? Int == 401)
        #expect((revoked["www"] as? String)?.contains("error=\"invalid_token\"") == true)
        // The citizen's raw id never reaches the logs.
        let log = try String(contentsOf: environment.gateway.outputFile, encoding: .utf8)
        #expect(!log.contains("33010619900101123X"))
    }

    /// (what, form, client, expected status, expected OAuth error)
    static func tokenRefusals() throws -> [(String, [(String, String)], (String, String)?, Int, String)] {
        let cc = [("grant_type", "client_credentials"), ("audience", "330100")]
        func exchange(_ assertion: String, _ extra: [(String, String)] = []) -> [(String, String)] {
            [("grant_type", Self.exchange), ("subject_token", assertion), ("subject_token_type", jwtType)] + extra
        }
        let otherSecret = Array("another-secret-another-secret-another!".utf8)
        let reused = try assertion { $0["jti"] = "reused-jti-1" }
        return [
            ("no client authentication", cc, nil, 401, "invalid_client"),
            ("wrong secret", cc, ("webhooks-demo-app", "client-wrong"), 401, "invalid_client"),
            ("unknown client", cc, ("nobody-app", "client-whatever"), 401, "invalid_client"),
            (
                "two authentication methods", cc + [("client_secret", "x")], ("webhooks-demo-app", ""), 400,
                "invalid_request"
            ),
            ("no grant type", [("audience", "330100")], ("webhooks-demo-app", ""), 400, "invalid_request"),
            (
                "unknown grant type", [("grant_type", "password")], ("webhooks-demo-app", ""), 400,
                "unsupported_grant_type"
            ),
            (
                "repeated parameter", cc + [("grant_type", "refresh_token")], ("webhooks-demo-app", ""), 400,
                "invalid_request"
            ),
            (
                "scope not allowed",
                [("grant_type", "client_credentials"), ("audience", "440300"), ("scope", "social-security.read")],
                ("hmac-demo-app", ""), 400, "invalid_scope"
            ),
            ("empty scope", cc + [("scope", " ")], ("webhooks-demo-app", ""), 400, "invalid_scope"),
            ("city not allowed", cc, ("hmac-demo-app", ""), 400, "invalid_target"),
            (
                "no audience, several cities", [("grant_type", "client_credentials")], ("webhooks-demo-app", ""), 400,
                "invalid_request"
            ),
            (
                "client without assertion keys", exchange(try assertion()), ("hmac-demo-app", ""), 400,
                "unauthorized_client"
            ),
            (
                "wrong subject token type",
                [
                    ("grant_type", Self.exchange), ("subject_token", try assertion()),
                    ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
                ], ("webhooks-demo-app", ""), 400, "invalid_request"
            ),
            (
                "assertion signed with another key", exchange(try assertion(key: otherSecret)),
                ("webhooks-demo-app", ""), 400, "invalid_grant"
            ),
            (
                "assertion with unknown kid", exchange(try assertion(kid: "2020-01")), ("webhooks-demo-app", ""), 400,
                "invalid_grant"
            ),
            (
                "assertion alg none",
                exchange(
                    JSONWebTokenTests.segment(["alg": "none"]) + "."
                        + JSONWebTokenTests.segment([
                            "iss": "webhooks-demo-app", "sub": "x", "aud": "330100", "exp": now + 60,
                        ]) + "."), ("webhooks-demo-app", ""), 400, "invalid_grant"
            ),
            (
                "assertion expired",
                exchange(
                    try assertion {
                        $0["exp"] = now - 120; $0["iat"] = now - 200
                    }), ("webhooks-demo-app", ""), 400, "invalid_grant"
            ),
            (
                "assertion lives too long", exchange(try assertion { $0["exp"] = now + 3_000 }),
                ("webhooks-demo-app", ""), 400, "invalid_grant"
            ),
            (
                "assertion from another issuer", exchange(try assertion { $0["iss"] = "wechat-city-app" }),
                ("webhooks-demo-app", ""), 400, "invalid_grant"
            ),
            (
                "assertion without jti", exchange(try assertion { $0["jti"] = nil }), ("webhooks-demo-app", ""), 400,
                "invalid_grant"
            ),
            (
                "assertion without sub", exchange(try assertion { $0["sub"] = nil }), ("webhooks-demo-app", ""), 400,
                "invalid_grant"
            ),
            (
                "assertion with unknown acr", exchange(try assertion(acr: "superuser")), ("webhooks-demo-app", ""), 400,
                "invalid_grant"
            ),
            (
                "assertion for a city not served", exchange(try assertion(city: "110000")), ("webhooks-demo-app", ""),
                400, "invalid_target"
            ),
            (
                "assertion audience differs", exchange(try assertion(), [("audience", "440300")]),
                ("webhooks-demo-app", ""), 400, "invalid_target"
            ),
            ("assertion replayed", exchange(reused), ("webhooks-demo-app", ""), 200, ""),
            ("assertion replayed (second use)", exchange(reused), ("webhooks-demo-app", ""), 400, "invalid_grant"),
            (
                "unknown refresh token", [("grant_type", "refresh_token"), ("refresh_token", "rt_nothing")],
                ("webhooks-demo-app", ""), 400, "invalid_grant"
            ),
        ]
    }

    @Test
    func tokenEndpointRefusesWithTheOAuthErrorAndAProblem() throws {
        let environment = try Environment()
        defer { environment.stop() }
        for (what, form, client, status, error) in try Self.tokenRefusals() {
            let response = try Self.post(environment, form, client: client)
            #expect(response.statusCode == status, "\(what): \(response.text)")
            guard status != 200 else { continue }
            let body = try Self.json(response)
            #expect(body["error"] as? String == error, "\(what): \(response.text)")
            #expect(body["requestId"] as? String == response.header("X-Request-Id"), "\(what)")
            #expect((body["type"] as? String)?.hasPrefix(Problem.typePrefix) == true, "\(what)")
            #expect(response.header("Cache-Control") == "no-store", "\(what)")
            if status == 401 { #expect(response.header("WWW-Authenticate") == "Basic realm=\"citygate\"", "\(what)") }
        }
        let json = try Self.post(environment, [("grant_type", "client_credentials")], contentType: "application/json")
        #expect(try Self.json(json)["error"] as? String == "invalid_request")
    }

    @Test
    func callRouteChecksEveryPropertyOfTheToken() throws {
        let environment = try Environment()
        defer { environment.stop() }
        let good = try Self.citizenToken(environment)
        #expect(try Self.call(environment, token: good).statusCode == 200)

        // Tokens signed with the gateway's own key (read from its data directory), but wrong.
        let pem = try String(
            contentsOfFile: environment.gateway.dataDirectory + "/token-signing-key.pem", encoding: .utf8)
        let gatewayKey = try AsymmetricKey(pem: pem)
        func segment(_ index: Int) throws -> [String: Any] {
            let bytes = try #require(Encoding.base64Decode(String(good.split(separator: ".")[index]), urlSafe: true))
            return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        }
        let header = try segment(0)
        let claims = try segment(1)
        func forged(
            _ change: (inout [String: Any]) -> Void, header extra: [String: Any] = [:], key: AsymmetricKey? = nil
        )
            throws -> String
        {
            var changed = claims
            change(&changed)
            var fields = header
            for (name, value) in extra { fields[name] = value }
            fields["alg"] = nil
            return try JSONWebToken.sign(
                claims: changed, header: fields, algorithm: .edDSA, key: .asymmetric(key ?? gatewayKey))
        }
        let parts = good.split(separator: ".").map(String.init)
        let flipped = parts[1].last == "A" ? "B" : "A"
        let citizenLevel = try Self.citizenToken(environment, assertion: try Self.assertion(acr: "citizen"))
        let narrow = try Self.citizenToken(environment, [("scope", "traffic.read")])
        let partnerLevel = try #require(
            try Self.json(
                try Self.post(environment, [("grant_type", "client_credentials"), ("audience", "330100")]))[
                    "access_token"]
                as? String)
        let wechatToken = try #require(
            try Self.json(
                try Self.post(
                    environment, [("grant_type", "client_credentials"), ("audience", "330100")],
                    client: ("wechat-city-app", ""))
            )["access_token"] as? String)

        // (what, token, city, service, operation, input, status, slug, challenge fragment)
        let cases: [(String, String?, String, String, String, String, Int, String, String)] = [
            (
                "no token", nil, "330100", "social-security.account", "balance", #"{"year":2026}"#, 401,
                "token-required", "Bearer realm=\"citygate\""
            ),
            (
                "tampered claims", parts[0] + "." + parts[1].dropLast() + flipped + "." + parts[2], "330100",
                "social-security.account", "balance", #"{"year":2026}"#, 401, "invalid-token", "error=\"invalid_token\""
            ),
            (
                "alg none", JSONWebTokenTests.segment(["alg": "none", "typ": "at+jwt"]) + "." + parts[1] + ".",
                "330100", "social-security.account", "balance", #"{"year":2026}"#, 401, "invalid-token",
                "error=\"invalid_token\""
            ),
            (
                "unknown kid", try forged({ _ in }, header: ["kid": "gw-000000000000"]), "330100",
                "social-security.account", "balance", #"{"year":2026}"#, 401, "invalid-token", "error=\"invalid_token\""
            ),
            (
                "signed by a stranger's key", try forged({ _ in }, key: try AsymmetricKey.generateEd25519()), "330100",
                "social-security.account", "balance", #"{"year":2026}"#, 401, "invalid-token", "error=\"invalid_token\""
            ),
            (
                "expired",
                try forged {
                    $0["exp"] = Self.now - 5; $0["iat"] = Self.now - 700
                }, "330100", "social-security.account", "balance", #"{"year":2026}"#, 401, "invalid-token",
                "error=\"invalid_token\""
            ),
            (
                "wrong typ", try forged({ _ in }, header: ["typ": "JWT"]), "330100", "social-security.account",
                "balance", #"{"year":2026}"#, 401, "invalid-token", "error=\"invalid_token\""
            ),
            (
                "another issuer", try forged { $0["iss"] = "https://elsewhere.example" }, "330100",
                "social-security.account", "balance", #"{"year":2026}"#, 401, "invalid-token", "error=\"invalid_token\""
            ),
            (
                "token for another city", good, "440300", "service-hall.queue", "status", #"{"hall":"futian"}"#, 401,
                "invalid-token", "error=\"invalid_token\""
            ),
            (
                "another partner's token", wechatToken, "330100", "service-hall.queue", "status",
                #"{"hall":"west-lake"}"#, 401, "invalid-token", "error=\"invalid_token\""
            ),
            (
                "scope missing", narrow, "330100", "social-security.account", "balance", #"{"year":2026}"#, 403,
                "insufficient-scope", "error=\"insufficient_scope\", scope=\"social-security.read\""
            ),
            (
                "citizen level for a real-name service", citizenLevel, "330100", "social-security.account", "balance",
                #"{"year":2026}"#, 401, "insufficient-auth-level", "acr_values=\"real-name\""
            ),
            (
                "partner token for a citizen service", partnerLevel, "330100", "traffic.violations", "lookup",
                #"{"plate":"A12345","engineTail":"123456"}"#, 401, "insufficient-auth-level", "acr_values=\"citizen\""
            ),
            (
                "not a bearer scheme", "", "330100", "social-security.account", "balance", #"{"year":2026}"#, 401,
                "invalid-token", "error=\"invalid_request\""
            ),
        ]
        for (what, token, city, service, operation, input, status, slug, challenge) in cases {
            var response: RawClient.Response
            if token == "" {
                var signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
                    path: "/v1/cities/\(city)/services/\(service)/\(operation)", body: Array(input.utf8))
                signed.headers.add(name: "Authorization", value: "Basic d2hvOm1l")
                response = try environment.send(signed)
            } else {
                response = try Self.call(
                    environment, city: city, service, operation, input: input, token: token)
            }
            #expect(response.statusCode == status, "\(what): \(response.text)")
            #expect(
                try Self.json(response)["type"] as? String == Problem.typePrefix + slug, "\(what): \(response.text)")
            #expect(
                response.header("WWW-Authenticate")?.contains(challenge) == true,
                "\(what): \(response.header("WWW-Authenticate") ?? "none")")
        }
        // The citizen-level token is enough for a citizen-level service.
        let traffic = try Self.call(
            environment, "traffic.violations", "lookup", input: #"{"plate":"A12345","engineTail":"123456"}"#,
            token: citizenLevel)
        #expect(traffic.statusCode == 200, "\(traffic.text)")
    }
}

extension OAuthEndToEndTests {
    @Test
    func signingKeysRotateByReloadAndOldTokensStayValid() throws {
        let environment = try Environment()
        defer { environment.stop() }
        func jwks() throws -> [String] {
            let response = try environment.get("/.well-known/jwks.json")
            #expect(response.header("Content-Type") == "application/jwk-set+json")
            let keys = try #require(try Self.json(response)["keys"] as? [[String: Any]])
            return keys.compactMap { $0["kid"] as? String }
        }
        func kid(_ token: String) throws -> String? {
            let bytes = try #require(Encoding.base64Decode(String(token.split(separator: ".")[0]), urlSafe: true))
            return (try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])?["kid"] as? String
        }
        let generated = try #require(try jwks().first)
        let before = try Self.citizenToken(environment)
        #expect(try kid(before) == generated)

        // City IT adds a configured key: it signs from now on, the generated one still verifies.
        let gatewayFile = URL(fileURLWithPath: environment.manifests).appendingPathComponent("gateway.json")
        var gateway = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: gatewayFile)) as? [String: Any])
        gateway["tokens"] = [
            "signingKeys": [["id": "2026-12", "privateKey": "file:../mocks/keys/wechat-city-assertion.key"]]
        ]
        try JSONSerialization.data(withJSONObject: gateway).write(to: gatewayFile)
        let reload = try CitizenCallTests.admin(environment, "POST", "/admin/reload")
        #expect(reload.statusCode == 200, "\(reload.text)")
        #expect(Set(try jwks()) == [generated, "2026-12"])
        let after = try Self.citizenToken(environment)
        #expect(try kid(after) == "2026-12")
        #expect(try Self.call(environment, token: before).statusCode == 200, "a token from before the rotation")
        #expect(try Self.call(environment, input: #"{"year":2025}"#, token: after).statusCode == 200)
    }
}

/// Every sample service answering a real citizen through the gateway, and agent stations acting
/// under delegations.
@Suite(.serialized)
struct CitizenCallTests {
    typealias Environment = CallEndToEndTests.Environment
    typealias OAuth = OAuthEndToEndTests

    static func admin(_ environment: Environment, _ method: String, _ path: String, body: String = "") throws
        -> RawClient.Response
    {
        let token = try OAuth.key("admin.token")
        let client = try RawClient(port: environment.gateway.opsPort)
        try client.send(
            "\(method) \(path) HTTP/1.1\r\nHost: ops\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        return try client.readResponse()
    }

    static func mockIdentities(_ environment: Environment) throws -> [[String: String]] {
        let client = try RawClient(port: UInt16(try #require(environment.mockPorts["hrss"])))
        try client.send("GET /_mock/identities HTTP/1.1\r\nHost: hrss\r\n\r\n")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(client.readResponse().body)) as? [[String: String]])
    }

    @Test
    func everySampleServiceAnswersACitizen() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        let token = try OAuth.citizenToken(environment)
        // (service, operation, input, a field the mapped answer must have)
        let calls: [(String, String, String, String)] = [
            ("social-security.account", "balance", #"{"year":2026}"#, "balance"),
            ("traffic.violations", "lookup", #"{"plate":"A12345","engineTail":"123456"}"#, "violations"),
            (
                "household.appointment", "book", #"{"station":"西湖派出所","date":"2026-12-08","phone":"13800138000"}"#,
                "appointmentId"
            ),
            (
                "permit.application", "apply",
                // The applicant's own id, bound to the token's citizen (a final x is the X check character).
                #"{"applicant":{"name":"张三","idNumber":"33010619900101123x","phone":"13800138000"},"location":"西湖区文三路 1 号","from":"2026-12-10","to":"2026-12-20"}"#,
                "caseNumber"
            ),
            // The case just applied for: the backend lets only its applicant follow it.
            ("permit.application", "progress", #"{"caseNumber":"{caseNumber}"}"#, "stage"),
            ("service-hall.queue", "status", #"{"hall":"west-lake"}"#, "waiting"),
        ]
        var caseNumber = ""
        for (service, operation, input, field) in calls {
            let input = input.replacingOccurrences(of: "{caseNumber}", with: caseNumber)
            let response = try OAuth.call(environment, service, operation, input: input, token: token)
            #expect(response.statusCode == 200, "\(service)/\(operation): \(response.text)")
            #expect(try OAuth.json(response)[field] != nil, "\(service)/\(operation): \(response.text)")
            caseNumber = try OAuth.json(response)["caseNumber"] as? String ?? caseNumber
        }
        // The backend is told who the call is for, as the salted hash, never the raw id.
        let seen = try #require(try Self.mockIdentities(environment).last)
        #expect(seen["X-Citizen-Subject"]?.hasPrefix("c_") == true)
        #expect(seen["X-Auth-Level"] == "real-name")
        #expect(seen["path"]?.contains(seen["X-Citizen-Subject"] ?? "-") == true, "{subject.id} in the path")
        #expect(seen["X-Acting-Agent"] == nil)
        // The log has one access line per call and none of the sample citizen's personal data. A
        // loop writes its turn's lines after the turn's answers went out: the last may lag a little.
        let logged = await eventually(timeout: .seconds(5)) {
            let text = (try? String(contentsOf: environment.gateway.outputFile, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter {
                $0.contains("\"msg\":\"access\"") && $0.contains("\"path\":\"/v1/cities/330100/services/")
            }.count >= calls.count
        }
        #expect(logged)
        let log = try String(contentsOf: environment.gateway.outputFile, encoding: .utf8)
        for value in ["张三", "33010619900101123", "13800138000", "西湖区文三路"] {
            #expect(!log.contains(value), "\(value) in the gateway's log")
        }
        let access = log.split(separator: "\n").filter { $0.contains("\"msg\":\"access\"") }
        let callLines = access.filter { $0.contains("\"path\":\"/v1/cities/330100/services/") }
        #expect(callLines.count == calls.count)
        #expect(
            callLines.contains {
                $0.contains("\"service\":\"permit.application\"") && $0.contains("\"operation\":\"apply\"")
            })
        #expect(callLines.allSatisfy { $0.contains("\"partner\":\"webhooks-demo\"") && $0.contains("\"durationMs\"") })
        // Citizen-bound calls are in the audit trail.
        let audit = try OAuth.json(try Self.admin(environment, "GET", "/admin/audit"))
        let entries = try #require(audit["entries"] as? [[String: Any]])
        #expect(entries.count == calls.count)
        #expect(entries.allSatisfy { $0["onBehalf"] as? Bool == false })
    }

    /// Every operation of every sample service, in every city that offers it, called by a partner
    /// whose every part is someone else's code: authlib for the token exchange, pyjwt for the
    /// citizen assertion, the standardwebhooks library for each call's signature.
    @Test
    func pythonPartnerCallsEverySampleServiceInEveryCity() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        // (city, service, operation, input, a field the mapped answer must have, or the status expected)
        let calls: [(String, String, String, String, String)] = [
            ("330100", "social-security.account", "balance", #"{"year":2026}"#, "balance"),
            ("330100", "traffic.violations", "lookup", #"{"plate":"A12345","engineTail":"123456"}"#, "violations"),
            (
                "330100", "household.appointment", "book",
                #"{"station":"西湖派出所","date":"2026-12-08","phone":"13800138000"}"#, "appointmentId"
            ),
            (
                "330100", "permit.application", "apply",
                #"{"applicant":{"name":"张三","idNumber":"33010619900101123X","phone":"13800138000"},"location":"西湖区文三路 1 号","from":"2026-12-10","to":"2026-12-20"}"#,
                "caseNumber"
            ),
            ("330100", "permit.application", "progress", #"{"caseNumber":"{caseNumber}"}"#, "stage"),
            ("330100", "service-hall.queue", "status", #"{"hall":"west-lake"}"#, "waiting"),
            // Ningbo: the provident fund's SOAP 1.1 service in GBK, and the birth bundle.
            (
                "330200", "housing-fund.account", "query",
                #"{"accountNo":"NB2015080100123","idNumber":"33010619900101123X"}"#, "balance"
            ),
            (
                "330200", "birth.registration", "apply",
                #"{"mother":{"name":"张三","idNumber":"33010619900101123X"},"baby":{"name":"张小宝","gender":"female","birthDate":"2026-11-28"},"hospital":"宁波市妇女儿童医院"}"#,
                "caseNumber"
            ),
            ("440300", "social-security.account", "balance", #"{"year":2026}"#, "balance"),
            // The test environment keeps Shenzhen's halls backend down: a clear 502 naming it.
            ("440300", "service-hall.queue", "status", #"{"hall":"futian"}"#, "502"),
            // Paused in Shenzhen: the notice, not a backend call.
            ("440300", "traffic.violations", "lookup", #"{"plate":"B12345","engineTail":"123456"}"#, "503"),
        ]
        for city in ["330100", "330200", "440300"] {
            let mine = calls.filter { $0.0 == city }
            let result = try await Interop.run(
                [
                    "op": "every-service", "port": Int(environment.gateway.publicPort), "city": city,
                    "client_id": "webhooks-demo-app",
                    "client_secret": try OAuthEndToEndTests.key("webhooks-demo-client.secret"),
                    "assertion_secret": try OAuthEndToEndTests.key("webhooks-demo-assertion.secret"),
                    "assertion_kid": "2026-11-hs",
                    "partner": "webhooks-demo", "partner_secret": try OAuthEndToEndTests.key("webhooks-demo.secret"),
                    "citizen": "33010619900101123X",
                    "scope":
                        "social-security.read traffic.read household.write permit.write permit.read halls.read housing-fund.read birth.write",
                    "calls": mine.map { ["path": "/v1/cities/\($0.0)/services/\($0.1)/\($0.2)", "body": $0.3] },
                ], script: "oauth.py")
            let answers = try #require(result["calls"] as? [[String: Any]], "\(result)")
            #expect(answers.count == mine.count)
            for (call, answer) in zip(mine, answers) {
                let label = "\(call.0) \(call.1)/\(call.2): \(answer)"
                let status = answer["status"] as? Int
                let body = Data((answer["body"] as? String ?? "").utf8)
                let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
                if call.4 == "503" {
                    #expect(status == 503, "\(label)")
                    #expect(object["noticeEn"] as? String == "Upgrading; back on 1 December.", "\(label)")
                } else if call.4 == "502" {
                    #expect(status == 502, "\(label)")
                    #expect(object["backend"] as? String == "halls", "\(label)")
                } else {
                    #expect(status == 200, "\(label)")
                    #expect(object[call.4] != nil, "\(label)")
                }
            }
        }
        // The backends saw each call made for the citizen under the salted pseudonym only.
        let seen = try Self.mockIdentities(environment)
        #expect(!seen.isEmpty)
        #expect(seen.allSatisfy { $0["X-Citizen-Subject"]?.hasPrefix("c_") == true })
    }

    @Test
    func traceContextReachesTheBackend() throws {
        let environment = try Environment()
        defer { environment.stop() }
        let token = try OAuth.citizenToken(environment)
        var signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
            path: "/v1/cities/330100/services/social-security.account/balance", body: Array(#"{"year":2026}"#.utf8))
        signed.headers.add(name: "Authorization", value: "Bearer \(token)")
        signed.headers.add(name: "traceparent", value: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        signed.headers.add(name: "tracestate", value: "wechat=t61rcWkgMzE")
        #expect(try environment.send(signed).statusCode == 200)
        let continued = try #require(try Self.mockIdentities(environment).last)
        let parent = try #require(continued["traceparent"])
        #expect(parent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "the partner's trace continues")
        #expect(!parent.contains("00f067aa0ba902b7"), "with the gateway's own span")
        #expect(continued["tracestate"] == "wechat=t61rcWkgMzE")
        // No (or a malformed) traceparent: a new trace starts.
        #expect(try OAuth.call(environment, input: #"{"year":2025}"#, token: token).statusCode == 200)
        let fresh = try #require(try Self.mockIdentities(environment).last?["traceparent"])
        #expect(TraceContext(traceparent: fresh) != nil)
        #expect(!fresh.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
    }

    /// The social-security balance made a raw-identity service: its backend path carries the
    /// citizen's own id.
    static func keyOnTheRawId(_ service: inout [String: Any]) {
        service["identity"] = "raw"
        var operations = service["operations"] as? [String: [String: Any]] ?? [:]
        var request = operations["balance"]?["request"] as? [String: Any] ?? [:]
        request["path"] = "/api/v2/accounts/{subject.raw}/balance"
        operations["balance"]?["request"] = request
        service["operations"] = operations
    }

    @Test
    func aRawIdentityServiceGetsTheCitizensOwnIdAndNoOtherDoes() throws {
        let environment = try Environment(extraEdits: [
            "services/social-security.account.json": { Self.keyOnTheRawId(&$0) }
        ])
        defer { environment.stop() }
        let token = try OAuth.citizenToken(environment)
        #expect(try OAuth.call(environment, token: token).statusCode == 200)
        let seen = try #require(try Self.mockIdentities(environment).last)
        #expect(seen["path"] == "/api/v2/accounts/33010619900101123X/balance", "the backend keys on the real id")
        #expect(seen["X-Citizen-Subject"]?.hasPrefix("c_") == true, "headers stay pseudonymous")
        // Other services still see only the pseudonym.
        let traffic = try OAuth.call(
            environment, "traffic.violations", "lookup", input: #"{"plate":"A12345","engineTail":"123456"}"#,
            token: token)
        #expect(traffic.statusCode == 200)
        let log = try String(contentsOf: environment.gateway.outputFile, encoding: .utf8)
        #expect(!log.contains("33010619900101123X"), "never in the gateway's logs")
    }

    @Test
    func askingForTheRawIdWithoutDeclaringItIsALoadError() throws {
        let problems = try ManifestSetTests.problems([
            "services/traffic.violations.json": { service in
                var operations = service["operations"] as? [String: [String: Any]] ?? [:]
                var request = operations["lookup"]?["request"] as? [String: Any] ?? [:]
                request["headers"] = ["X-Owner": "{subject.raw}"]
                operations["lookup"]?["request"] = request
                service["operations"] = operations
            },
            "services/service-hall.queue.json": { $0["identity"] = "raw" },
        ])
        #expect(
            problems.contains(
                "services/traffic.violations.json: $.operations.lookup: uses {subject.raw}, which needs \"identity\": \"raw\" on the service"
            ), "\(problems)")
        #expect(
            problems.contains(
                "services/service-hall.queue.json: $.identity: raw identity needs a citizen or real-name service"),
            "\(problems)")
    }

    @Test
    func agentStationsActUnderADelegationAndAreAudited() throws {
        let environment = try Environment()
        defer { environment.stop() }
        let now = OAuth.now
        let created = try Self.admin(
            environment, "POST", "/admin/delegations",
            body:
                #"{"partner":"webhooks-demo","agent":"agent-station-7","citizen":"330106195001011231","services":["social-security.account"],"notAfter":\#(now + 3600)}"#
        )
        #expect(created.statusCode == 201, "\(created.text)")
        let record = try OAuth.json(created)
        let delegationId = try #require(record["id"] as? String)
        #expect(!created.text.contains("330106195001011231"), "the record holds hashes only")

        func agentToken(citizen: String = "330106195001011231", agent: String = "agent-station-7") throws
            -> RawClient.Response
        {
            try OAuth.post(
                environment,
                [
                    ("grant_type", OAuth.exchange), ("subject_token", try OAuth.assertion(citizen)),
                    ("subject_token_type", OAuth.jwtType), ("actor_token", try OAuth.assertion(agent)),
                    ("actor_token_type", OAuth.jwtType),
                ])
        }
        let granted = try agentToken()
        #expect(granted.statusCode == 200, "\(granted.text)")
        let token = try #require(try OAuth.json(granted)["access_token"] as? String)

        let balance = try OAuth.call(environment, token: token)
        #expect(balance.statusCode == 200, "\(balance.text)")
        let seen = try #require(try Self.mockIdentities(environment).last)
        #expect(seen["X-Acting-Agent"]?.hasPrefix("c_") == true, "the backend sees the agent")
        #expect(seen["X-Delegation-Id"] == delegationId)
        #expect(seen["X-Citizen-Subject"] != seen["X-Acting-Agent"])

        let outOfScope = try OAuth.call(
            environment, "permit.application", "progress", input: #"{"caseNumber":"330100-2026-000042"}"#, token: token)
        #expect(outOfScope.statusCode == 403)
        #expect(try OAuth.json(outOfScope)["type"] as? String == Problem.typePrefix + "delegation-out-of-scope")

        let audit = try OAuth.json(try Self.admin(environment, "GET", "/admin/audit?onBehalf=true"))
        let entries = try #require(audit["entries"] as? [[String: Any]])
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0["delegation"] as? String == delegationId && $0["agent"] != nil })
        #expect(Set(entries.compactMap { $0["status"] as? Int }) == [200, 403])

        // No delegation for this pair: no token.
        let stranger = try agentToken(agent: "agent-station-8")
        #expect(stranger.statusCode == 400)
        #expect(try OAuth.json(stranger)["error"] as? String == "invalid_grant")

        // Revoked: the token already issued stops working at once.
        #expect(try Self.admin(environment, "POST", "/admin/delegations/\(delegationId)/revoke").statusCode == 200)
        let afterRevoke = try OAuth.call(environment, input: #"{"year":2025}"#, token: token)
        #expect(afterRevoke.statusCode == 403)
        #expect(try OAuth.json(afterRevoke)["type"] as? String == Problem.typePrefix + "delegation-invalid")

        // Expired: a delegation whose time is over grants nothing.
        let expired = try Self.admin(
            environment, "POST", "/admin/delegations",
            body:
                #"{"partner":"webhooks-demo","agent":"agent-station-9","citizen":"330106195001011231","services":["social-security.account"],"notBefore":\#(now - 7200),"notAfter":\#(now - 3600)}"#
        )
        #expect(expired.statusCode == 201)
        let late = try agentToken(agent: "agent-station-9")
        #expect(try OAuth.json(late)["error"] as? String == "invalid_grant")

        // Invalid records are refused with every problem.
        let invalid = try Self.admin(
            environment, "POST", "/admin/delegations",
            body: #"{"partner":"nobody","agent":"a","citizen":"a","services":["dog.licence"],"notAfter":1,"x":1}"#)
        #expect(invalid.statusCode == 422)
        let detail = try OAuth.json(invalid)["detail"] as? String ?? ""
        for fragment in ["$.x: unknown field", "$.partner", "$.agent: must differ", "$.services[0]", "$.notAfter"] {
            #expect(detail.contains(fragment), "\(fragment) in \(detail)")
        }
    }
}
