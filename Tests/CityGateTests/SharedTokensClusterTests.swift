import CityGate
import Cryptography
import Foundation
import HTTPCore
import TestSupport
import Testing

/// Token state shared by three instances on one PostgreSQL (#18): a token from one instance works
/// on the others (citizen, raw-identity and agent calls); one revoked through A is refused by B
/// and C within a second; refresh-token reuse detected on another instance revokes the family
/// everywhere; a delegation registered or revoked through one instance holds on the others.
@Suite(.serialized)
struct SharedTokensClusterTests {
    typealias OAuth = OAuthEndToEndTests

    /// One instance's listeners.
    struct Instance {
        let publicPort: UInt16
        let opsPort: UInt16
    }

    static func instances(_ cluster: SharedStateTests.Cluster) -> [Instance] {
        [Instance(publicPort: cluster.environment.gateway.publicPort, opsPort: cluster.environment.gateway.opsPort)]
            + cluster.others.map { Instance(publicPort: $0.publicPort, opsPort: $0.opsPort) }
    }

    /// A form POST with the demo client's Basic credentials.
    static func post(_ instance: Instance, _ form: [(String, String)], path: String = "/oauth/token") throws
        -> RawClient.Response
    {
        let body = FormEncoding.encode(form)
        let secret = try OAuth.key("webhooks-demo-client.secret")
        let head =
            "POST \(path) HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\nAuthorization: Basic \(Encoding.base64(Array("webhooks-demo-app:\(secret)".utf8)))\r\n\r\n"
        let client = try RawClient(port: instance.publicPort)
        try client.send(head + body)
        return try client.readResponse()
    }

    /// Token exchange on `instance`: the JSON answer.
    static func exchange(_ instance: Instance, citizen: String = "33010619900101123X", agent: String? = nil)
        throws -> [String: Any]
    {
        var form = [
            ("grant_type", OAuth.exchange), ("subject_token", try OAuth.assertion(citizen)),
            ("subject_token_type", OAuth.jwtType),
        ]
        if let agent { form += [("actor_token", try OAuth.assertion(agent)), ("actor_token_type", OAuth.jwtType)] }
        let response = try post(instance, form)
        #expect(response.statusCode == 200, "\(response.text)")
        return try OAuth.json(response)
    }

    /// A signed partner call with `token` on `instance`.
    static func call(
        _ environment: CallEndToEndTests.Environment, _ instance: Instance, token: String,
        _ service: String = "social-security.account", _ operation: String = "balance",
        input: String = #"{"year":2026}"#
    ) throws -> RawClient.Response {
        var signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
            path: "/v1/cities/330100/services/\(service)/\(operation)", body: Array(input.utf8))
        signed.headers.add(name: "Authorization", value: "Bearer \(token)")
        return try SharedStateTests.send(signed, to: instance.publicPort)
    }

    static func admin(_ instance: Instance, _ method: String, _ path: String, body: String = "") throws
        -> RawClient.Response
    {
        let token = try OAuth.key("admin.token")
        let client = try RawClient(port: instance.opsPort)
        try client.send(
            "\(method) \(path) HTTP/1.1\r\nHost: ops\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        return try client.readResponse()
    }

    /// How long until `token` is refused (401) by every instance in `on`, polling every 20 ms.
    static func refusedEverywhere(
        _ environment: CallEndToEndTests.Environment, _ on: [Instance], token: String, since start: Date
    ) async -> TimeInterval? {
        let refused = await eventually(timeout: .seconds(5), every: .milliseconds(20)) {
            on.allSatisfy { (try? call(environment, $0, token: token, input: #"{"year":2025}"#))?.statusCode == 401 }
        }
        return refused ? Date().timeIntervalSince(start) : nil
    }

    @Test
    func tokensWorkAndAreRevokedAcrossInstances() async throws {
        let servers = try await SharedServers()
        defer { servers.stopNow() }
        let (redis, postgres) = (servers.redis, servers.postgres)
        let cluster = try SharedStateTests.Cluster(
            redis, postgres: postgres, extra: 2,
            edits: [
                // A raw-identity service: the identity sealed at exchange must open on B too.
                "services/social-security.account.json": { service in
                    // The per-citizen limit is shared too (Redis): the probes below would use it up.
                    service["rateLimits"] = [["scope": "subject", "limit": 1000, "period": "1m", "burst": 1000]]
                    CitizenCallTests.keyOnTheRawId(&service)
                }
            ])
        defer { cluster.stop() }
        let environment = cluster.environment
        let all = Self.instances(cluster)
        let (a, b, c) = (all[0], all[1], all[2])

        // Exchanged on A, used on B (the raw id opens there) and C.
        let first = try Self.exchange(a)
        let access = try #require(first["access_token"] as? String)
        let refresh = try #require(first["refresh_token"] as? String)
        #expect(try Self.call(environment, b, token: access).statusCode == 200)
        let seen = try #require(try CitizenCallTests.mockIdentities(environment).last)
        #expect(seen["path"] == "/api/v2/accounts/33010619900101123X/balance", "the vault is shared")
        #expect(try Self.call(environment, c, token: access).statusCode == 200)

        // Revoked through A: B and C refuse it within a second.
        let revokedAt = Date()
        #expect(try Self.post(a, [("token", access)], path: "/oauth/revoke").statusCode == 200)
        let revocationSeconds = try #require(
            await Self.refusedEverywhere(environment, [b, c], token: access, since: revokedAt))
        #expect(revocationSeconds < 1, "revocation reached B and C after \(revocationSeconds) s")

        // Refreshed on B; the old refresh token replayed on C: reuse, the family revoked everywhere.
        let refreshed = try Self.post(b, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
        #expect(refreshed.statusCode == 200, "\(refreshed.text)")
        let second = try OAuth.json(refreshed)
        let newAccess = try #require(second["access_token"] as? String)
        let newRefresh = try #require(second["refresh_token"] as? String)
        let usedOnA = try Self.call(environment, a, token: newAccess)
        #expect(usedOnA.statusCode == 200, "\(usedOnA.text)")
        let reusedAt = Date()
        let reused = try Self.post(c, [("grant_type", "refresh_token"), ("refresh_token", refresh)])
        #expect(reused.statusCode == 400)
        #expect(try OAuth.json(reused)["error"] as? String == "invalid_grant")
        let familySeconds = try #require(
            await Self.refusedEverywhere(environment, [a, b, c], token: newAccess, since: reusedAt))
        #expect(familySeconds < 1, "the family's revocation reached every instance after \(familySeconds) s")
        let afterTheft = try Self.post(a, [("grant_type", "refresh_token"), ("refresh_token", newRefresh)])
        #expect(try OAuth.json(afterTheft)["error"] as? String == "invalid_grant", "the newest refresh token too")

        // Two instances redeeming one fresh refresh token at once: one wins, one is reuse.
        let third = try Self.exchange(c)
        let contested = try #require(third["refresh_token"] as? String)
        async let onA = blocking { try Self.post(a, [("grant_type", "refresh_token"), ("refresh_token", contested)]) }
        async let onB = blocking { try Self.post(b, [("grant_type", "refresh_token"), ("refresh_token", contested)]) }
        let statuses = try await [onA.statusCode, onB.statusCode].sorted()
        #expect(statuses == [200, 400], "one redemption wins: \(statuses)")
        print(
            "shared tokens: revocation reached B and C in \(Int(revocationSeconds * 1000)) ms, a family in \(Int(familySeconds * 1000)) ms"
        )
    }

    @Test
    func delegationsHoldAcrossInstances() async throws {
        let servers = try await SharedServers()
        defer { servers.stopNow() }
        let (redis, postgres) = (servers.redis, servers.postgres)
        let cluster = try SharedStateTests.Cluster(redis, postgres: postgres, extra: 2)
        defer { cluster.stop() }
        let environment = cluster.environment
        let all = Self.instances(cluster)
        let (a, b, c) = (all[0], all[1], all[2])
        let now = OAuth.now
        let created = try Self.admin(
            a, "POST", "/admin/delegations",
            body:
                #"{"partner":"webhooks-demo","agent":"agent-station-7","citizen":"330106195001011231","services":["social-security.account"],"notAfter":\#(now + 3600)}"#
        )
        #expect(created.statusCode == 201, "\(created.text)")
        let id = try #require(try OAuth.json(created)["id"] as? String)
        let listed = try OAuth.json(try Self.admin(c, "GET", "/admin/delegations"))
        #expect((listed["delegations"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
        // Registered through A, exchanged on B, used on C.
        let granted = try Self.exchange(b, citizen: "330106195001011231", agent: "agent-station-7")
        let token = try #require(granted["access_token"] as? String)
        #expect(try Self.call(environment, c, token: token).statusCode == 200)
        // Revoked through C: refused on A at the next call.
        #expect(try Self.admin(c, "POST", "/admin/delegations/\(id)/revoke").statusCode == 200)
        let refused = try Self.call(environment, a, token: token, input: #"{"year":2025}"#)
        #expect(refused.statusCode == 403)
        #expect(try OAuth.json(refused)["type"] as? String == Problem.typePrefix + "delegation-invalid")
    }

    /// An application retried on another instance is answered from its first outcome there, not
    /// sent to the backend again (the Idempotency-Key store is shared).
    @Test
    func anIdempotencyKeyHoldsAcrossInstances() async throws {
        let servers = try await SharedServers()
        defer { servers.stopNow() }
        let (redis, postgres) = (servers.redis, servers.postgres)
        let cluster = try SharedStateTests.Cluster(
            redis, postgres: postgres, extra: 1, edits: IdempotencyTests.applicationLike)
        defer { cluster.stop() }
        let environment = cluster.environment
        let ports = cluster.ports
        func apply(on port: UInt16, key: String, body: String = #"{"hall":"west-lake"}"#) throws -> RawClient.Response {
            var signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
                path: "/v1/cities/330100/services/service-hall.queue/status", body: Array(body.utf8))
            signed.headers.add(name: "Idempotency-Key", value: key)
            return try SharedStateTests.send(signed, to: port)
        }
        func backendRequests() throws -> Int {
            let client = try RawClient(port: UInt16(try #require(environment.mockPorts["halls"])))
            try client.send("GET /_mock/requests HTTP/1.1\r\nHost: halls\r\n\r\n")
            return (try JSONSerialization.jsonObject(with: Data(client.readResponse().body)) as? [Any])?.count ?? -1
        }
        let before = try backendRequests()
        let first = try apply(on: ports[0], key: #""apply-cluster-1""#)
        #expect(first.statusCode == 200, "\(first.text)")
        let retried = try apply(on: ports[1], key: #""apply-cluster-1""#)
        #expect(retried.statusCode == 200)
        #expect(retried.header("Idempotent-Replayed") == "true")
        #expect(retried.body == first.body)
        #expect(try backendRequests() == before + 1, "the backend saw one request")
        let other = try apply(on: ports[1], key: #""apply-cluster-1""#, body: #"{"hall":"binjiang"}"#)
        #expect(other.statusCode == 422, "the same key with another body, on the other instance")
    }
}
