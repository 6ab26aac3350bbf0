import Cryptography
import Store
import Synchronization

/// The audit trail: citizen-bound calls and their refusals (who called which service for whom,
/// and whether an agent acted under a delegation), delegation changes, admin actions and
/// manifest reloads. Subjects are salted hashes; no input or answer is kept. Every event is
/// appended to the hash chain (``AuditChain``) in the same transaction; calls are also kept in
/// the queryable `audit` table, which `citygate audit verify` checks against the chain.
public final class AuditLog: Sendable {
    /// One audited call.
    public struct Entry: Sendable, Equatable {
        /// The request id (also in the access log and the partner's response).
        public var requestId: String
        /// Unix seconds.
        public var at: Int64
        /// City code, service id, operation name.
        public var city: String
        /// The service id.
        public var service: String
        /// The operation name.
        public var operation: String
        /// The calling partner and its client.
        public var partnerId: String
        /// The OAuth client.
        public var clientId: String
        /// The citizen's subject hash.
        public var subject: String
        /// The agent's subject hash, for calls made on the citizen's behalf.
        public var agent: String?
        /// The delegation that allowed it.
        public var delegationId: String?
        /// The HTTP status answered.
        public var status: Int
        /// For a refusal, the problem slug that ended the call (`subject-mismatch`, …).
        public var outcome: String? = nil

        func json() -> [String: any Sendable] {
            var object: [String: any Sendable] = [
                "requestId": requestId, "at": at, "city": city, "service": service, "operation": operation,
                "partner": partnerId, "client": clientId, "subject": subject, "status": status,
                "onBehalf": agent != nil,
            ]
            if let agent { object["agent"] = agent }
            if let delegationId { object["delegation"] = delegationId }
            if let outcome { object["outcome"] = outcome }
            return object
        }
    }

    private let database: Database

    /// Uses `database`, migrated to the gateway schema.
    public init(database: Database) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
    }

    /// The digest new entries are linked with (set from `gateway.json` `audit.hash` at start and
    /// at every reload).
    private let hashing = Mutex(AuditChain.HashAlgorithm.sha256)

    /// Links new entries with `algorithm` from now on.
    func use(_ algorithm: AuditChain.HashAlgorithm) { hashing.withLock { $0 = algorithm } }

    private var hashAlgorithm: AuditChain.HashAlgorithm { hashing.withLock { $0 } }

    /// Appends one call (answered or refused).
    func record(_ entry: Entry) throws(SQLiteError) {
        _ = try database.transaction { session throws(SQLiteError) in
            try session.run(
                """
                INSERT OR REPLACE INTO audit (request_id, at, city, service, operation, partner, client_id, subject,
                agent, delegation, status, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                """,
                [
                    .text(entry.requestId), .integer(entry.at), .text(entry.city), .text(entry.service),
                    .text(entry.operation), .text(entry.partnerId), .text(entry.clientId), .text(entry.subject),
                    entry.agent.map { .text($0) } ?? .null, entry.delegationId.map { .text($0) } ?? .null,
                    .integer(Int64(entry.status)), entry.outcome.map { .text($0) } ?? .null,
                ])
            try AuditChain.append(
                kind: "call", at: entry.at, fields: entry.json(), algorithm: hashAlgorithm, in: session)
        }
    }

    /// Appends another audited event (`delegation.created`, `manifests.reloaded`, …); `fields`
    /// hold identifiers and hashes only, never personal data.
    func append(kind: String, at: Int64, fields: [String: any Sendable]) throws(SQLiteError) {
        _ = try database.transaction { session throws(SQLiteError) in
            try AuditChain.append(kind: kind, at: at, fields: fields, algorithm: hashAlgorithm, in: session)
        }
    }

    /// Signs the chain's head with `key` (housekeeping, and at shutdown).
    func seal(key: AuditSealKey, now: Int64) throws -> Int64? {
        try AuditChain.seal(database: database, key: key.key, keyId: key.id, now: now)
    }

    /// Chain entries `from`…`to` (at most `limit`) with their hashes, and the seals among them:
    /// what an auditor needs to re-hash a range and check it against a seal.
    func chain(from: Int64, to: Int64, limit: Int = 1000) throws(SQLiteError) -> [String: any Sendable] {
        try database.withConnection { session throws(SQLiteError) -> [String: any Sendable] in
            let entries = try session.query(
                "SELECT seq, at, kind, content, prev_hash, hash FROM audit_chain WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq LIMIT ?3",
                [.integer(from), .integer(to), .integer(Int64(limit))]
            ) { row -> [String: any Sendable] in
                [
                    "seq": row.integer(0), "at": row.integer(1), "kind": row.text(2) ?? "",
                    "content": row.text(3) ?? "",
                    "prevHash": row.text(4) ?? "", "hash": row.text(5) ?? "",
                ]
            }
            let seals = try session.query(
                "SELECT seq, hash, signature, key_id, at FROM audit_seal WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
                [.integer(from), .integer(to)]
            ) { row -> [String: any Sendable] in
                [
                    "seq": row.integer(0), "hash": row.text(1) ?? "", "signature": row.text(2) ?? "",
                    "keyId": row.text(3) ?? "", "at": row.integer(4),
                ]
            }
            return ["entries": entries, "seals": seals]
        }
    }

    /// Walks the chain and its seals.
    func verify(keys: AuditChain.PublicKeys) throws(SQLiteError) -> AuditChain.Verification {
        try AuditChain.verify(database: database, keys: keys)
    }

    /// Entries at or after `since`, newest first; `onBehalfOnly` keeps the delegated ones.
    func list(since: Int64 = 0, onBehalfOnly: Bool = false, limit: Int = 500) throws(SQLiteError) -> [Entry] {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                """
                SELECT request_id, at, city, service, operation, partner, client_id, subject, agent, delegation, status,
                outcome
                FROM audit WHERE at >= ?1 AND (?2 = 0 OR agent IS NOT NULL) ORDER BY at DESC LIMIT ?3
                """,
                [.integer(since), .integer(onBehalfOnly ? 1 : 0), .integer(Int64(limit))]
            ) { row in
                Entry(
                    requestId: row.text(0) ?? "", at: row.integer(1), city: row.text(2) ?? "",
                    service: row.text(3) ?? "",
                    operation: row.text(4) ?? "", partnerId: row.text(5) ?? "", clientId: row.text(6) ?? "",
                    subject: row.text(7) ?? "", agent: row.text(8), delegationId: row.text(9),
                    status: Int(row.integer(10)), outcome: row.text(11))
            }
        }
    }
}
