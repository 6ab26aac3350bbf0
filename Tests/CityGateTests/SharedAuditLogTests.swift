import Cryptography
import Foundation
import PostgresClient
import TestSupport
import Testing

@testable import CityGate

/// The shared audit chain on a real PostgreSQL started by the test: two instances appending at
/// once make one chain with one order, each seals with its own key, the walk finds tampering
/// and a seal by a key it was not given, and the queryable table answers every instance.
@Suite(.serialized)
struct SharedAuditLogTests {
    static func entry(_ requestId: String, at: Int64, agent: String? = nil, status: Int = 200) -> AuditLog.Entry {
        AuditLog.Entry(
            requestId: requestId, at: at, city: "330100", service: "permit.application", operation: "apply",
            partnerId: "webhooks-demo", clientId: "webhooks-demo-app", subject: "c_\(requestId.hashValue & 0xff)",
            agent: agent, delegationId: agent == nil ? nil : "dg_1", status: status,
            outcome: status == 200 ? nil : "subject-mismatch")
    }

    static func sealKey() throws -> (AuditSealKey, publicKey: AsymmetricKey) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-seal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = try AuditSealKey.load(directory: directory.path)
        let pem = try String(contentsOfFile: directory.path + "/audit-signing-key.pub", encoding: .utf8)
        return (key, try AsymmetricKey(pem: pem))
    }

    /// One instance's shared audit log on `server`, with its own pool (as a gateway opens it).
    static func open(_ server: PostgresServer) throws -> SharedAuditLog {
        let setup = PostgresConnection(url: server.url)
        defer { setup.close() }
        return try SharedAuditLog(url: server.url, pool: PostgresPool(url: server.url), setup: setup)
    }

    static func close(_ audit: SharedAuditLog) {
        audit.stop()
        audit.pool.shutdown()
    }

    @Test
    func twoInstancesAppendOneChainAndEachSealsWithItsOwnKey() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        // Two instances migrating at once apply the schema once (advisory lock).
        let first = try Self.open(server)
        let second = try Self.open(server)
        defer {
            Self.close(first)
            Self.close(second)
        }
        let (keyA, publicA) = try Self.sealKey()
        let (keyB, publicB) = try Self.sealKey()
        let (_, publicC) = try Self.sealKey()

        // 300 calls on each instance at once, with some other events among them.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<300 {
                group.addTask { try await first.record(Self.entry("a\(index)", at: 1_764_000_000 + Int64(index))) }
                group.addTask {
                    try await second.record(
                        Self.entry(
                            "b\(index)", at: 1_764_000_000 + Int64(index), agent: index % 10 == 0 ? "c_agent" : nil))
                }
                if index % 50 == 0 {
                    group.addTask {
                        try await first.append(
                            kind: "delegation.created", at: 1_764_000_000, fields: ["id": "dg_\(index)", "n": index])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await first.seal(key: keyA, now: 1_764_001_000) == 606)
        #expect(try await second.seal(key: keyB, now: 1_764_001_001) == nil, "sealed already")
        second.use(.sm3)
        try await second.record(Self.entry("b-late", at: 1_764_002_000, status: 403))
        #expect(try await second.seal(key: keyB, now: 1_764_002_001) == 607)

        // One chain: numbered 1…607 without a gap, each entry after the one before.
        #expect(try await server.psql("SELECT count(*), min(seq), max(seq) FROM citygate_audit_chain") == "607|1|607")
        #expect(
            try await server.psql("SELECT seq, hash FROM citygate_audit_head") == "607|"
                + (try await server.psql("SELECT hash FROM citygate_audit_chain WHERE seq = 607")))
        let intact = try SharedAuditLog.verify(url: server.url, keys: .init([publicA, publicB]))
        #expect(intact.broken == nil, "\(intact)")
        #expect(intact.entries == 607 && intact.seals == 2 && intact.lastSealed == 607)

        // Every instance reads every instance's calls.
        let listed = try await first.list(since: 0, onBehalfOnly: false, limit: 1000)
        #expect(listed.count == 601)
        #expect(listed.first?.requestId == "b-late" && listed.first?.outcome == "subject-mismatch")
        let delegated = try await first.list(since: 0, onBehalfOnly: true, limit: 1000)
        #expect(delegated.count == 30 && delegated.allSatisfy { $0.agent == "c_agent" })
        let range = try await second.chain(from: 600, to: 700, limit: 1000)
        let entries = try #require(range["entries"] as? [[String: any Sendable]])
        #expect(entries.compactMap { $0["seq"] as? Int64 } == Array(600...607))
        #expect((entries.last?["hash"] as? String)?.hasPrefix("sm3:") == true)
        let seals = try #require(range["seals"] as? [[String: any Sendable]])
        #expect(seals.compactMap { $0["seq"] as? Int64 } == [606, 607])
        #expect(Set(seals.compactMap { $0["keyId"] as? String }) == [keyA.id, keyB.id])

        // A seal by a key the auditor was not given is named, not skipped.
        let unknownKey = try SharedAuditLog.verify(url: server.url, keys: .init([publicA, publicC]))
        #expect(
            unknownKey.broken
                == "the seal of entry 607 was made with key '\(keyB.id)', which is not among the public keys given")
        // One key given: B's seal does not verify with it.
        let oneKey = try SharedAuditLog.verify(url: server.url, keys: .init([publicA]))
        #expect(oneKey.broken == "the seal of entry 607 does not verify with the audit key")
    }

    /// An append the server cannot store (a NUL in a text field) fails alone: the others queued
    /// in its batch are linked and committed, and the chain has no gap.
    @Test
    func oneBadAppendFailsAloneInItsBatch() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let audit = try Self.open(server)
        defer { Self.close(audit) }
        let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
            for index in 0..<50 {
                group.addTask {
                    var entry = Self.entry("r\(index)", at: 1_764_000_000)
                    if index == 25 { entry.subject = "c_\u{0}bad" }
                    return (entry.requestId, (try? await audit.record(entry)) != nil)
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.filter { !$0.value }.map(\.key) == ["r25"])
        #expect(try await server.psql("SELECT count(*), max(seq) FROM citygate_audit_chain") == "49|49")
        let (key, publicKey) = try Self.sealKey()
        #expect(try await audit.seal(key: key, now: 1_764_000_100) == 49)
        #expect(try SharedAuditLog.verify(url: server.url, keys: .init([publicKey])).broken == nil)
    }

    /// Each tampering is made with psql (an independent client), found, and undone.
    @Test
    func theWalkFindsTamperingInTheSharedTables() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let audit = try Self.open(server)
        defer { Self.close(audit) }
        let (key, publicKey) = try Self.sealKey()
        for index in 1...9 { try await audit.record(Self.entry("r\(index)", at: 1_764_000_000 + Int64(index))) }
        try await audit.append(kind: "manifests.reloaded", at: 1_764_000_100, fields: ["trigger": "admin"])
        #expect(try await audit.seal(key: key, now: 1_764_000_200) == 10)
        let keys = AuditChain.PublicKeys([publicKey])
        #expect(try SharedAuditLog.verify(url: server.url, keys: keys).broken == nil)

        let cases: [(tamper: String, undo: String, found: String)] = [
            (
                "UPDATE citygate_audit_chain SET content = replace(content, '\"status\":200', '\"status\":500') WHERE seq = 4",
                "UPDATE citygate_audit_chain SET content = replace(content, '\"status\":500', '\"status\":200') WHERE seq = 4",
                "entry 4 does not match its hash (its content was edited)"
            ),
            (
                "CREATE TABLE saved AS SELECT * FROM citygate_audit_chain WHERE seq = 6; DELETE FROM citygate_audit_chain WHERE seq = 6",
                "INSERT INTO citygate_audit_chain SELECT * FROM saved; DROP TABLE saved",
                "entry 6 is missing (the chain goes on at entry 7)"
            ),
            (
                "CREATE TABLE saved AS SELECT * FROM citygate_audit_chain WHERE seq = 10; DELETE FROM citygate_audit_chain WHERE seq = 10",
                "INSERT INTO citygate_audit_chain SELECT * FROM saved; DROP TABLE saved",
                "a seal covers entry 10 but the chain ends at entry 9 (entries were removed from its end)"
            ),
            (
                "UPDATE citygate_audit_call SET status = 201 WHERE request_id = 'r2'",
                "UPDATE citygate_audit_call SET status = 200 WHERE request_id = 'r2'",
                "the audit table's row for request r2 differs from the chain"
            ),
            (
                "INSERT INTO citygate_audit_call SELECT 'forged', at, city, service, operation, partner, client_id, subject, agent, delegation, status, outcome FROM citygate_audit_call WHERE request_id = 'r1'",
                "DELETE FROM citygate_audit_call WHERE request_id = 'forged'",
                "the audit table has request forged, which the chain does not"
            ),
            (
                // The seal moved onto an earlier entry: its signature is of entry 10.
                "UPDATE citygate_audit_seal SET seq = 9, hash = (SELECT hash FROM citygate_audit_chain WHERE seq = 9)",
                "UPDATE citygate_audit_seal SET seq = 10, hash = (SELECT hash FROM citygate_audit_chain WHERE seq = 10)",
                "the seal of entry 9 does not verify with the audit key"
            ),
        ]
        for (tamper, undo, found) in cases {
            _ = try await server.psql(tamper)
            #expect(try SharedAuditLog.verify(url: server.url, keys: keys).broken == found, "\(tamper)")
            _ = try await server.psql(undo)
            #expect(try SharedAuditLog.verify(url: server.url, keys: keys).broken == nil, "undone: \(undo)")
        }
    }
}
