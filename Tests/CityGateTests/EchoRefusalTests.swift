import CityGate
import Cryptography
import Foundation
import HTTPCore
import TestSupport
import Testing

/// Attacker bytes never come back: crafted `kid`s and header values stay out of problem
/// details and `WWW-Authenticate`, which stays ASCII (RFC 6750 §3), and a body breaking many
/// rules gets a bounded list.
@Suite(.serialized)
struct EchoRefusalTests {
    typealias OAuth = OAuthEndToEndTests

    static let craftedKids = [
        "../../../../dev/null", "<script>alert(1)</script>", "密钥-2026", "a\"b\\c", String(repeating: "k", count: 300),
    ]

    /// A token whose header names `kid`, signed with the right demo key.
    static func token(kid: String) throws -> String {
        try JSONWebToken.sign(
            claims: ["iss": "x", "sub": "y", "exp": OAuth.now + 60], header: ["kid": kid], algorithm: .hs256,
            key: .secret(Array("not the gateway's key, 32 bytes or more".utf8)))
    }

    @Test
    func craftedKidsAreNeverEchoed() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        for kid in Self.craftedKids {
            // As a bearer token on a call…
            let call = try OAuth.call(environment, token: try Self.token(kid: kid))
            #expect(call.statusCode == 401)
            let challenge = try #require(call.header("WWW-Authenticate"))
            #expect(challenge.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "ASCII only: \(challenge)")
            #expect(!call.text.contains(kid) && !challenge.contains(kid), "kid echoed: \(call.text) \(challenge)")
            for fragment in ["dev/null", "<script", "密钥", "kkkkkkkk"] {
                #expect(!call.text.contains(fragment) && !challenge.contains(fragment))
            }
            // …and as a citizen assertion at the token endpoint.
            let exchange = try OAuth.post(
                environment,
                [
                    ("grant_type", OAuth.exchange), ("subject_token", try Self.token(kid: kid)),
                    ("subject_token_type", OAuth.jwtType),
                ])
            #expect(exchange.statusCode == 400)
            #expect(!exchange.text.contains(kid))
            for fragment in ["dev/null", "<script", "密钥", "kkkkkkkk"] { #expect(!exchange.text.contains(fragment)) }
        }
    }

    @Test
    func headerAndPathValuesAreNeverEchoed() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let client = try RawClient(port: environment.gateway.publicPort)
        try client.send(
            "POST /v1/cities/330100/services/service-hall.queue/status HTTP/1.1\r\nHost: g\r\nX-Partner-Id: <img src=x>\r\nContent-Length: 2\r\n\r\n{}"
        )
        let unknownPartner = try client.readResponse()
        #expect(unknownPartner.statusCode == 401)
        #expect(!unknownPartner.text.contains("<img"))
        // A plain identifier is still named, to help the caller see the typo.
        let typo = try RawClient(port: environment.gateway.publicPort)
        try typo.send(
            "POST /v1/cities/330100/services/service-hall.queue/status HTTP/1.1\r\nHost: g\r\nX-Partner-Id: wechat-ctiy\r\nContent-Length: 2\r\n\r\n{}"
        )
        #expect(try typo.readResponse().text.contains("'wechat-ctiy'"))
        let path = try environment.get("/v1/cities/330100/services/%3Cscript%3E")
        #expect(path.statusCode == 404)
        #expect(!path.text.contains("<script"))
    }

    /// 80,000 unknown members: 422 listing the first 50 and counting the rest, in a few KB.
    @Test
    func aBodyBreakingManyRulesGetsABoundedList() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        var body = #"{"hall":"west-lake""#
        for index in 0..<80_000 { body += #","m\#(index)":1"# }
        body += #","<b>":1}"#
        let response = try environment.call("webhooks-demo", "service-hall.queue", "status", input: body)
        #expect(response.statusCode == 422)
        #expect(response.body.count < 8_192, "\(response.body.count) bytes")
        let problem = try CallEndToEndTests.json(response)
        let errors = try #require(problem["errors"] as? [[String: Any]])
        #expect(errors.count == 50)
        #expect(problem["errorsOmitted"] as? Int == 80_001 - 50)
        #expect((problem["detail"] as? String)?.contains("80001 rule(s)") == true)
        #expect(!response.text.contains("<b>"))
    }
}
