import Foundation
import TestSupport
import Testing

@testable import CityGate

/// The audit trail shared by three instances on one PostgreSQL (#18): calls and admin actions on
/// any instance go to one chain with one order; `/admin/audit` on any instance lists every
/// instance's calls; each instance seals with its own key at shutdown, and `citygate audit
/// verify --postgres` checks the chain against every instance's public key given from outside.
@Suite(.serialized)
struct SharedAuditClusterTests {
    typealias Cluster = SharedTokensClusterTests

    @Test
    func everyInstanceAuditsIntoOneChainVerifiedWithEachInstancesKey() async throws {
        let servers = try await SharedServers()
        defer { servers.stopNow() }
        let cluster = try SharedStateTests.Cluster(
            servers.redis, postgres: servers.postgres, extra: 2,
            edits: [
                "services/social-security.account.json": { service in
                    service["rateLimits"] = [["scope": "subject", "limit": 1000, "period": "1m", "burst": 1000]]
                }
            ])
        defer { cluster.stop() }
        let environment = cluster.environment
        let all = Cluster.instances(cluster)
        let processes = [environment.gateway] + cluster.others

        // 30 citizen calls, round-robin; a delegation created on B and revoked on C.
        let token = try #require(try Cluster.exchange(all[0])["access_token"] as? String)
        var requestIds: Set<String> = []
        for index in 0..<30 {
            let response = try Cluster.call(environment, all[index % 3], token: token, input: #"{"year":2026}"#)
            #expect(response.statusCode == 200, "\(response.text)")
            requestIds.insert(try #require(response.header("X-Request-Id")))
        }
        let created = try Cluster.admin(
            all[1], "POST", "/admin/delegations",
            body:
                #"{"partner":"webhooks-demo","agent":"agent-station-7","citizen":"330106195001011231","services":["social-security.account"],"notAfter":\#(OAuthEndToEndTests.now + 3600)}"#
        )
        #expect(created.statusCode == 201, "\(created.text)")
        let delegationId = try #require(try OAuthEndToEndTests.json(created)["id"] as? String)
        #expect(try Cluster.admin(all[2], "POST", "/admin/delegations/\(delegationId)/revoke").statusCode == 200)

        // Any instance lists every instance's calls, and exports one chain numbered 1…32.
        let listed = try OAuthEndToEndTests.json(try Cluster.admin(all[2], "GET", "/admin/audit"))
        let entries = try #require(listed["entries"] as? [[String: Any]])
        #expect(Set(entries.compactMap { $0["requestId"] as? String }) == requestIds)
        let exported = try OAuthEndToEndTests.json(try Cluster.admin(all[1], "GET", "/admin/audit/chain?from=1"))
        let chain = try #require(exported["entries"] as? [[String: Any]])
        #expect(chain.compactMap { ($0["seq"] as? NSNumber)?.intValue } == Array(1...32))
        #expect(chain.suffix(2).compactMap { $0["kind"] as? String } == ["delegation.created", "delegation.revoked"])
        var previous = AuditChain.genesis
        for entry in chain {
            #expect(entry["prevHash"] as? String == previous)
            previous = entry["hash"] as? String ?? ""
        }
        #expect(!chain.contains { ($0["content"] as? String)?.contains("330106195001011231") == true })

        // Each instance stops after one more call of its own: three seals by three keys.
        for (index, process) in processes.enumerated() {
            let response = try Cluster.call(environment, all[index], token: token, input: #"{"year":2025}"#)
            #expect(response.statusCode == 200, "\(response.text)")
            process.terminate()
            #expect(process.waitForExit() == 0)
        }
        let seals = try await servers.postgres.psql("SELECT count(DISTINCT key_id), max(seq) FROM citygate_audit_seal")
        #expect(seals == "3|35")

        // The CLI, given each instance's public key, from outside the database.
        let reference = FileManager.default.temporaryDirectory.appendingPathComponent("pg-\(UUID().uuidString)").path
        try "\(servers.postgres.url)\n".write(toFile: reference, atomically: true, encoding: .utf8)
        let keys = processes.flatMap { ["--public-key", $0.dataDirectory + "/audit-signing-key.pub"] }
        let intact = try await ExternalProcess.run(
            CommandLineTests.binary, ["audit", "verify", "--postgres", "file:\(reference)"] + keys)
        #expect(intact.status == 0, "\(intact.standardOutput)\(intact.standardError)")
        #expect(intact.standardOutput.contains("audit chain intact: 35 entries, 3 seals"), "\(intact.standardOutput)")
        // C's key left out: its seal is named, and the chain is not called intact.
        let missing = try await ExternalProcess.run(
            CommandLineTests.binary, ["audit", "verify", "--postgres", "file:\(reference)"] + keys.dropLast(2))
        #expect(missing.status == 1)
        #expect(
            missing.standardOutput.contains("which is not among the public keys given"), "\(missing.standardOutput)")
        // Without any key, the shared chain is not walked at all.
        let none = try await ExternalProcess.run(
            CommandLineTests.binary, ["audit", "verify", "--postgres", "file:\(reference)"])
        #expect(none.status == 1)
        #expect(none.standardOutput.contains("--public-key"))
    }
}
