import CityGate
import Foundation
import TestSupport
import Testing

/// The gateway binary with its default limits against the attack that took it down: 10,000
/// connections from one address in well under a second, each sending a call's headers and one
/// body byte. Another address must still be served, health checks and partner calls alike.
@Suite(.serialized)
struct SlowConnectionAttackTests {
    @Test
    func tenThousandSlowConnectionsFromOneAddressDoNotStopAnother() async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let port = environment.gateway.publicPort
        // All 10,000 stay open (their requests unfinished) while the other address calls.
        var attack: [RawClient] = []
        attack.reserveCapacity(10_000)
        for _ in 0..<10_000 {
            guard let client = try? RawClient(port: port, receiveTimeout: 1, source: "127.0.0.1") else { continue }
            try? client.send(
                "POST /v1/cities/330100/services/service-hall.queue/status HTTP/1.1\r\nHost: g\r\nContent-Length: 100\r\n\r\n{"
            )
            attack.append(client)
        }
        #expect(attack.count > 9_000, "the attack itself ran (\(attack.count) connections)")
        let other = try RawClient(port: port, source: "127.0.0.2")
        try other.send("GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n")
        #expect(try other.readResponse().statusCode == 200)
        let signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
            path: "/v1/cities/330100/services/service-hall.queue/status", body: Array(#"{"hall":"west-lake"}"#.utf8))
        let call = try environment.send(signed, from: "127.0.0.2")
        #expect(call.statusCode == 200, "\(call.text)")
        // The one address holds no more than its allowance; the rest were told why.
        let refused = try RawClient(port: port, source: "127.0.0.1").readResponse()
        #expect(refused.statusCode == 503)
        #expect(refused.text.contains("too-many-connections"))
        withExtendedLifetime(attack) {}
    }
}
