import Cryptography
import Foundation
import Store
import TestSupport
import Testing

@testable import CityGate

/// The audit chain finds every kind of tampering with the SQLite file: an edited entry, an
/// edited entry whose hash was recomputed, a deleted entry, two entries swapped, entries cut from
/// the end behind a seal, a forged seal, and the queryable audit table disagreeing with the chain.
/// `citygate audit verify` says the same from outside.
struct AuditChainTests {
    /// A data directory with eight audited events (six calls, a delegation created and revoked),
    /// sealed after the sixth and after the eighth.
    /// `switchToSM3At`: entries from that sequence number on are linked with SM3 (1: all of them;
    /// nil: none), as after `gateway.json` `audit.hash` changed at a reload.
    static func makeChain(switchToSM3At: Int? = nil) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = try Database(path: directory.path + "/gateway.db", durability: .normal)
        let audit = try AuditLog(database: database)
        let key = try AuditSealKey.load(directory: directory.path)
        for index in 1...6 {
            if index == switchToSM3At { audit.use(.sm3) }
            try audit.record(
                AuditLog.Entry(
                    requestId: "r\(index)", at: 1_764_000_000 + Int64(index), city: "330100",
                    service: "permit.application", operation: "apply", partnerId: "webhooks-demo",
                    clientId: "webhooks-demo-app", subject: "c_subject\(index % 2)", agent: nil, delegationId: nil,
                    status: index == 3 ? 403 : 200, outcome: index == 3 ? "subject-mismatch" : nil))
        }
        #expect(try audit.seal(key: key, now: 1_764_000_100) == 6)
        if let switchToSM3At, switchToSM3At > 6 { audit.use(.sm3) }
        try audit.append(kind: "delegation.created", at: 1_764_000_200, fields: ["id": "dg_1", "agent": "c_a"])
        try audit.append(kind: "delegation.revoked", at: 1_764_000_300, fields: ["id": "dg_1"])
        #expect(try audit.seal(key: key, now: 1_764_000_400) == 8)
        #expect(try audit.seal(key: key, now: 1_764_000_500) == nil, "nothing new to seal")
        return directory.path
    }

    static func tamper(_ directory: String, _ sql: String) throws {
        try Database(path: directory + "/gateway.db").execute(sql)
    }

    static func verify(_ directory: String) -> AuditVerifier.Report {
        AuditVerifier.verify(dataDirectory: directory)
    }

    /// The hashed content is byte-stable: keys sorted by UTF-8 bytes (capitals first), nothing
    /// between tokens, strings escaped as JSON.
    @Test
    func theContentIsCanonicalJSON() throws {
        let text = AuditChain.canonical([
            "b": 1,
            "a": ["x": true, "A": "é\"\n", "list": [Int64(2), "s", false] as [any Sendable]] as [String: any Sendable],
            "seq": Int64(7),
        ])
        #expect(text == #"{"a":{"A":"é\"\n","list":[2,"s",false],"x":true},"b":1,"seq":7}"#)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect((parsed["a"] as? [String: Any])?["A"] as? String == "é\"\n")
    }

    /// SM3 links (gateway.json audit.hash "sm3") verify, also in a chain that changed algorithm
    /// mid-way; each SM3 link is the GB/T 32905 digest of the previous hash and the content.
    @Test(arguments: [1, 4, 7])
    func anSM3ChainVerifies(switchToSM3At: Int) throws {
        let directory = try Self.makeChain(switchToSM3At: switchToSM3At)
        #expect(Self.verify(directory).intact, "\(Self.verify(directory).text)")
        let database = try Database(path: directory + "/gateway.db")
        let rows = try database.withConnection { session throws(SQLiteError) in
            try session.query("SELECT seq, content, prev_hash, hash FROM audit_chain ORDER BY seq") {
                (seq: $0.integer(0), content: $0.text(1) ?? "", previous: $0.text(2) ?? "", hash: $0.text(3) ?? "")
            }
        }
        for row in rows {
            if row.seq >= Int64(switchToSM3At) {
                let digest = try Digest.sm3.hash(Array((row.previous + "\n" + row.content).utf8))
                #expect(row.hash == "sm3:" + Encoding.hex(digest), "entry \(row.seq)")
            } else {
                #expect(!row.hash.hasPrefix("sm3:"), "entry \(row.seq)")
            }
        }
    }

    @Test
    func anIntactChainVerifies() throws {
        let directory = try Self.makeChain()
        let report = Self.verify(directory)
        #expect(report.intact, "\(report.text)")
        #expect(report.text.contains("8 entries, 2 seals"))
    }

    struct Tampering: Sendable, CustomStringConvertible {
        let name: String
        let sql: String
        let finding: String
        var description: String { name }
    }

    static let tamperings: [Tampering] = [
        Tampering(
            name: "an entry edited",
            sql: #"UPDATE audit_chain SET content = replace(content, '"status":403', '"status":200') WHERE seq = 3"#,
            finding: "entry 3 does not match its hash"),
        Tampering(
            name: "an entry deleted", sql: "DELETE FROM audit_chain WHERE seq = 4", finding: "entry 4 is missing"),
        Tampering(
            name: "two entries swapped",
            sql: """
                UPDATE audit_chain SET seq = 100 WHERE seq = 2;
                UPDATE audit_chain SET seq = 2 WHERE seq = 3;
                UPDATE audit_chain SET seq = 3 WHERE seq = 100
                """,
            finding: "entry 2 does not follow entry 1"),
        Tampering(
            name: "the last entries cut off",
            sql: "DELETE FROM audit_chain WHERE seq > 6",
            finding: "a seal covers entry 8 but the chain ends at entry 6"),
        Tampering(
            name: "a seal forged",
            sql: "UPDATE audit_seal SET signature = (SELECT signature FROM audit_seal WHERE seq = 6) WHERE seq = 8",
            finding: "the seal of entry 8 does not verify"),
        Tampering(
            name: "a refusal rewritten in the audit table",
            sql: "UPDATE audit SET status = 200, outcome = NULL WHERE request_id = 'r3'",
            finding: "the audit table's row for request r3 differs from the chain"),
        Tampering(
            name: "a call added to the audit table only",
            sql: """
                INSERT INTO audit (request_id, at, city, service, operation, partner, client_id, subject, status)
                VALUES ('forged', 0, '330100', 's', 'o', 'p', 'c', 'x', 200)
                """,
            finding: "the audit table has request forged, which the chain does not"),
    ]

    @Test(arguments: tamperings, [nil, 1, 4])
    func everyTamperingIsFoundAndNamed(_ tampering: Tampering, switchToSM3At: Int?) throws {
        let directory = try Self.makeChain(switchToSM3At: switchToSM3At)
        try Self.tamper(directory, tampering.sql)
        let report = Self.verify(directory)
        #expect(!report.intact)
        #expect(report.text.contains(tampering.finding), "\(report.text)")
    }

    /// Someone who edits an entry and recomputes its hash breaks the link to the next one.
    @Test
    func anEditWithItsHashRecomputedBreaksTheNextLink() throws {
        let directory = try Self.makeChain()
        let database = try Database(path: directory + "/gateway.db")
        let row = try #require(
            try database.withConnection { session throws(SQLiteError) in
                try session.query("SELECT content, prev_hash FROM audit_chain WHERE seq = 3") {
                    (content: $0.text(0) ?? "", previous: $0.text(1) ?? "")
                }
            }.first)
        let edited = row.content.replacingOccurrences(of: #""status":403"#, with: #""status":200"#)
        #expect(edited != row.content)
        try database.withConnection { session throws(SQLiteError) in
            try session.run(
                "UPDATE audit_chain SET content = ?1, hash = ?2 WHERE seq = 3",
                [.text(edited), .text(AuditChain.hash(previous: row.previous, content: edited))])
        }
        let report = Self.verify(directory)
        #expect(!report.intact)
        #expect(report.text.contains("entry 4 does not follow entry 3"), "\(report.text)")
    }

    /// A chain rebuilt and re-sealed by someone with another key fails against the pinned key.
    @Test
    func aChainResealedWithAnotherKeyFailsAgainstTheKeptPublicKey() throws {
        let directory = try Self.makeChain()
        let kept = directory + "-audit.pub"
        try FileManager.default.copyItem(atPath: directory + "/audit-signing-key.pub", toPath: kept)
        try FileManager.default.removeItem(atPath: directory + "/audit-signing-key.pem")
        try FileManager.default.removeItem(atPath: directory + "/audit-signing-key.pub")
        try Self.tamper(directory, "DELETE FROM audit_seal")
        let database = try Database(path: directory + "/gateway.db")
        let audit = try AuditLog(database: database)
        _ = try audit.seal(key: try AuditSealKey.load(directory: directory), now: 1_764_000_600)
        #expect(Self.verify(directory).intact, "the directory's own (new) key vouches for it")
        let pinned = AuditVerifier.verify(dataDirectory: directory, publicKeyFiles: [kept])
        #expect(!pinned.intact)
        #expect(pinned.text.contains("does not verify with the audit key"))
    }

    @Test
    func theCommandLineSaysTheSame() async throws {
        let directory = try Self.makeChain()
        let intact = try await ExternalProcess.run(CommandLineTests.binary, ["audit", "verify", "--data", directory])
        #expect(intact.status == 0, "\(intact.standardOutput)\(intact.standardError)")
        #expect(intact.standardOutput.contains("audit chain intact"))
        try Self.tamper(directory, "DELETE FROM audit_chain WHERE seq = 5")
        let broken = try await ExternalProcess.run(CommandLineTests.binary, ["audit", "verify", "--data", directory])
        #expect(broken.status == 1)
        #expect(broken.standardOutput.contains("entry 5 is missing"), "\(broken.standardOutput)")
        let usage = try await ExternalProcess.run(CommandLineTests.binary, ["audit", "check"])
        #expect(usage.status == 2)
    }
}

/// Through the gateway binary: a citizen's call, a delegation, a reload and a replay request are
/// chained; the ops export re-hashes; and after a graceful stop the chain is sealed and verifies.
@Suite(.serialized)
struct AuditChainEndToEndTests {
    typealias OAuth = OAuthEndToEndTests

    @Test
    func theGatewayChainsWhatItAuditsAndSealsAtShutdown() async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let token = try OAuth.citizenToken(environment)
        let call = try OAuth.call(environment, token: token)
        #expect(call.statusCode == 200, "\(call.text)")
        let reload = try CitizenCallTests.admin(environment, "POST", "/admin/reload")
        #expect(reload.statusCode == 200, "\(reload.text)")
        let created = try CitizenCallTests.admin(
            environment, "POST", "/admin/delegations",
            body:
                #"{"partner":"webhooks-demo","agent":"agent-station-7","citizen":"330106195001011231","services":["social-security.account"],"notAfter":\#(OAuth.now + 3600)}"#
        )
        #expect(created.statusCode == 201, "\(created.text)")
        let delegationId = try #require(try OAuth.json(created)["id"] as? String)
        let revoked = try CitizenCallTests.admin(environment, "POST", "/admin/delegations/\(delegationId)/revoke")
        #expect(revoked.statusCode == 200, "\(revoked.text)")
        let exported = try OAuth.json(try CitizenCallTests.admin(environment, "GET", "/admin/audit/chain?from=1"))
        let entries = try #require(exported["entries"] as? [[String: Any]])
        #expect(
            entries.compactMap { $0["kind"] as? String } == [
                "call", "manifests.reloaded", "delegation.created", "delegation.revoked",
            ])
        // Hashes and identifiers only: the citizen's id number is not in the chain.
        #expect(!entries.contains { ($0["content"] as? String)?.contains("330106195001011231") == true })
        var previous = AuditChain.genesis
        for entry in entries {
            #expect(entry["prevHash"] as? String == previous)
            let content = try #require(entry["content"] as? String)
            // The sample's gateway.json links with SM3 (audit.hash): "sm3:" and the GB/T 32905 digest.
            let hash = "sm3:" + Encoding.hex(try Digest.sm3.hash(Array((previous + "\n" + content).utf8)))
            #expect(entry["hash"] as? String == hash, "the export re-hashes without the database")
            previous = hash
        }
        let bad = try CitizenCallTests.admin(environment, "GET", "/admin/audit/chain?from=5&to=2")
        #expect(bad.statusCode == 400)
        // A graceful stop (SIGTERM) seals what was audited since the last seal.
        environment.gateway.terminate()
        #expect(environment.gateway.waitForExit() == 0)
        let report = AuditVerifier.verify(dataDirectory: environment.gateway.dataDirectory)
        #expect(report.intact, "\(report.text)")
        #expect(report.text.contains("4 entries, 1 seals"), "sealed at shutdown: \(report.text)")
    }
}
