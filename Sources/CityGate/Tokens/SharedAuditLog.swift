import Cryptography
import Foundation
import PostgresClient
import Synchronization

/// The audit trail on PostgreSQL: one hash chain for every instance (`gateway.json`
/// `state.postgres`), so the order of what the city's gateways did is one order, and an
/// auditor checks one chain instead of one per process.
///
/// ```
///   call ─ record ─► queue ─┐
///   call ─ record ─► queue ─┼─► writer thread: BEGIN
///   admin ─ append ─► queue ─┘      SELECT seq, hash FROM citygate_audit_head FOR UPDATE   ← every instance waits here
///                                   INSERT the batch's links (seq + 1 …) · UPDATE the head · COMMIT
///                                   └─► resume every waiter only after COMMIT answered
///
///   housekeeping ─ seal ─► (head locked) sign seq/hash with this instance's audit key
/// ```
///
/// Appends are serialised across instances by the head row's lock and batched per instance
/// (group commit), so a busy cluster takes the lock once per batch, not once per call. Each
/// instance seals with its own key (`audit-signing-key.pem` in its data directory); the seal
/// names the key, and `citygate audit verify --postgres` checks every seal against public
/// keys given to it from outside the database — keys kept in the database it verifies would
/// let whoever can edit that database forge seals.
final class SharedAuditLog: AuditKeeping {
    static let migrations = PostgresMigrations(
        name: "audit",
        [
            """
            CREATE TABLE citygate_audit_head (
                id SMALLINT PRIMARY KEY CHECK (id = 1),
                seq BIGINT NOT NULL,
                hash TEXT NOT NULL
            );
            INSERT INTO citygate_audit_head (id, seq, hash) VALUES (1, 0, '\(AuditChain.genesis)');
            CREATE TABLE citygate_audit_chain (
                seq BIGINT PRIMARY KEY,
                at BIGINT NOT NULL,
                kind TEXT NOT NULL,
                content TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            );
            CREATE TABLE citygate_audit_call (
                request_id TEXT PRIMARY KEY,
                at BIGINT NOT NULL,
                city TEXT NOT NULL,
                service TEXT NOT NULL,
                operation TEXT NOT NULL,
                partner TEXT NOT NULL,
                client_id TEXT NOT NULL,
                subject TEXT NOT NULL,
                agent TEXT,
                delegation TEXT,
                status INTEGER NOT NULL,
                outcome TEXT
            );
            CREATE INDEX citygate_audit_call_at ON citygate_audit_call (at);
            CREATE TABLE citygate_audit_seal (
                seq BIGINT PRIMARY KEY,
                hash TEXT NOT NULL,
                signature TEXT NOT NULL,
                key_id TEXT NOT NULL,
                at BIGINT NOT NULL
            )
            """
        ])

    /// One queued append, with the digest in force when it was made.
    enum Write: Sendable {
        case call(AuditLog.Entry, AuditChain.HashAlgorithm)
        case event(kind: String, at: Int64, fields: [String: any Sendable], AuditChain.HashAlgorithm)
    }

    /// The most appends one transaction takes (a batch beyond it waits for the next).
    static let batchLimit = 256

    let pool: PostgresPool
    private let writer: GroupCommitQueue<Write, Result<Int64, PostgresError>>
    private let hashing = Mutex(AuditChain.HashAlgorithm.sha256)

    /// Uses `pool` for reads and seals; migrates the tables over `setup` and starts a writer
    /// with its own connection to `url`.
    init(url: String, pool: PostgresPool, setup: PostgresConnection) throws(PostgresError) {
        try Self.migrations.apply(on: setup)
        self.pool = pool
        let connection = WriterConnection(PostgresConnection(url: url))
        writer = GroupCommitQueue(
            threadName: "citygate-shared-audit-writer",
            commit: { batch in Self.commit(batch, on: connection.connection) },
            finish: { connection.connection.close() },
            refusal: { code, message in .failure(PostgresError(message: message, operation: "audit \(code)")) })
    }

    /// Stops the writer after the appends already queued.
    func stop() { writer.stop() }

    func use(_ algorithm: AuditChain.HashAlgorithm) { hashing.withLock { $0 = algorithm } }

    private var algorithm: AuditChain.HashAlgorithm { hashing.withLock { $0 } }

    func record(_ entry: AuditLog.Entry) async throws {
        _ = try await writer.submit(.call(entry, algorithm)).get()
    }

    func append(kind: String, at: Int64, fields: [String: any Sendable]) async throws {
        _ = try await writer.submit(.event(kind: kind, at: at, fields: fields, algorithm)).get()
    }

    func seal(key: AuditSealKey, now: Int64) async throws -> Int64? {
        try await pool.run { connection throws(PostgresError) -> Int64? in
            try connection.transaction { connection throws(PostgresError) -> Int64? in
                let head = try Self.lockHead(connection)
                let sealed =
                    try connection.query(
                        "SELECT COALESCE(MAX(seq), 0) FROM citygate_audit_seal", operation: "audit seal"
                    ).first?.integer(0) ?? 0
                guard head.seq > sealed,
                    let signature = try? key.key.sign(AuditChain.sealMessage(seq: head.seq, hash: head.hash))
                else { return nil }
                try connection.query(
                    "INSERT INTO citygate_audit_seal (seq, hash, signature, key_id, at) VALUES ($1, $2, $3, $4, $5)",
                    [
                        .integer(head.seq), .text(head.hash), .text(Encoding.base64(signature)), .text(key.id),
                        .integer(now),
                    ], operation: "audit seal")
                return head.seq
            }
        }
    }

    func chain(from: Int64, to: Int64, limit: Int) async throws -> [String: any Sendable] {
        try await pool.run { connection throws(PostgresError) -> [String: any Sendable] in
            let entries = try connection.query(
                """
                SELECT seq, at, kind, content, prev_hash, hash FROM citygate_audit_chain
                WHERE seq BETWEEN $1 AND $2 ORDER BY seq LIMIT $3
                """, [.integer(from), .integer(to), .integer(Int64(limit))], operation: "audit chain"
            ).map { row -> [String: any Sendable] in
                [
                    "seq": row.integer(0), "at": row.integer(1), "kind": row.text(2) ?? "",
                    "content": row.text(3) ?? "", "prevHash": row.text(4) ?? "", "hash": row.text(5) ?? "",
                ]
            }
            let seals = try connection.query(
                "SELECT seq, hash, signature, key_id, at FROM citygate_audit_seal WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
                [.integer(from), .integer(to)], operation: "audit chain"
            ).map { row -> [String: any Sendable] in
                [
                    "seq": row.integer(0), "hash": row.text(1) ?? "", "signature": row.text(2) ?? "",
                    "keyId": row.text(3) ?? "", "at": row.integer(4),
                ]
            }
            return ["entries": entries, "seals": seals]
        }
    }

    func list(since: Int64, onBehalfOnly: Bool, limit: Int) async throws -> [AuditLog.Entry] {
        try await pool.run { connection throws(PostgresError) -> [AuditLog.Entry] in
            try connection.query(
                """
                SELECT request_id, at, city, service, operation, partner, client_id, subject, agent, delegation,
                status, outcome FROM citygate_audit_call
                WHERE at >= $1 AND ($2 = 0 OR agent IS NOT NULL) ORDER BY at DESC, request_id LIMIT $3
                """, [.integer(since), .integer(onBehalfOnly ? 1 : 0), .integer(Int64(limit))],
                operation: "audit list"
            ).map { row in
                AuditLog.Entry(
                    requestId: row.text(0) ?? "", at: row.integer(1), city: row.text(2) ?? "",
                    service: row.text(3) ?? "", operation: row.text(4) ?? "", partnerId: row.text(5) ?? "",
                    clientId: row.text(6) ?? "", subject: row.text(7) ?? "", agent: row.text(8),
                    delegationId: row.text(9), status: Int(row.integer(10)), outcome: row.text(11))
            }
        }
    }

    /// Reads the whole chain, its seals and the call table of the database at `url` and walks
    /// them (`citygate audit verify --postgres`), in pages so a long chain is not one answer.
    static func verify(url: String, keys: AuditChain.PublicKeys) throws(PostgresError) -> AuditChain.Verification {
        let connection = PostgresConnection(url: url)
        defer { connection.close() }
        // One snapshot: entries appended while the walk reads are not half in it.
        return try connection.transaction { connection throws(PostgresError) -> AuditChain.Verification in
            try connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", operation: "audit verify")
            var entries: [AuditChain.StoredEntry] = []
            var after: Int64 = -1
            while true {
                let page = try connection.query(
                    """
                    SELECT seq, content, prev_hash, hash FROM citygate_audit_chain WHERE seq > $1 ORDER BY seq LIMIT 10000
                    """, [.integer(after)], operation: "audit verify"
                ).map { row in
                    AuditChain.StoredEntry(
                        seq: row.integer(0), content: row.text(1) ?? "", previous: row.text(2) ?? "",
                        hash: row.text(3) ?? "")
                }
                guard let last = page.last else { break }
                entries += page
                after = last.seq
            }
            let seals = try connection.query(
                "SELECT seq, hash, signature, key_id FROM citygate_audit_seal ORDER BY seq", operation: "audit verify"
            ).map { row in
                AuditChain.StoredSeal(
                    seq: row.integer(0), hash: row.text(1) ?? "", signature: row.text(2) ?? "",
                    keyId: row.text(3) ?? "")
            }
            let indexed = try connection.query(
                "SELECT request_id, status, subject, service, operation, partner FROM citygate_audit_call",
                operation: "audit verify"
            ).map { row in
                AuditChain.IndexedCall(
                    requestId: row.text(0) ?? "", status: Int(row.integer(1)), subject: row.text(2) ?? "",
                    service: row.text(3) ?? "", operation: row.text(4) ?? "", partner: row.text(5) ?? "")
            }
            return AuditChain.verify(entries: entries, seals: seals, indexed: indexed, keys: keys)
        }
    }

    // MARK: - The writer

    private static func lockHead(_ connection: PostgresConnection) throws(PostgresError) -> (seq: Int64, hash: String) {
        guard
            let row = try connection.query(
                "SELECT seq, hash FROM citygate_audit_head WHERE id = 1 FOR UPDATE", operation: "audit append"
            ).first
        else {
            throw PostgresError(sqlState: "P0002", message: "the audit head row is missing", operation: "audit append")
        }
        return (row.integer(0), row.text(1) ?? AuditChain.genesis)
    }

    /// One batch in one transaction; a batch refused for another reason than the connection is
    /// retried append by append, so only the append the server refused fails.
    private static func commit(_ batch: [Write], on connection: PostgresConnection) -> [Result<Int64, PostgresError>] {
        var results: [Result<Int64, PostgresError>] = []
        results.reserveCapacity(batch.count)
        var start = 0
        while start < batch.count {
            let part = Array(batch[start..<min(start + batchLimit, batch.count)])
            results += commitPart(part, on: connection)
            start += part.count
        }
        return results
    }

    private static func commitPart(_ part: [Write], on connection: PostgresConnection) -> [Result<Int64, PostgresError>]
    {
        let outcome = Result { () throws(PostgresError) -> [Int64] in
            try connection.transaction { connection throws(PostgresError) in try link(part, connection) }
        }
        switch outcome {
        case .success(let numbers): return numbers.map { .success($0) }
        case .failure(let error) where error.isConnectionFailure || part.count == 1:
            return part.map { _ in .failure(error) }
        case .failure:
            return part.map { write in
                Result { () throws(PostgresError) -> Int64 in
                    try connection.transaction { connection throws(PostgresError) in
                        try link([write], connection)[0]
                    }
                }
            }
        }
    }

    /// Links `writes` after the locked head, stores them and moves the head; their numbers.
    private static func link(_ writes: [Write], _ connection: PostgresConnection) throws(PostgresError) -> [Int64] {
        var head = try lockHead(connection)
        var chainRows: [PostgresValue] = []
        var calls: [String: AuditLog.Entry] = [:]
        var numbers: [Int64] = []
        for write in writes {
            let kind: String
            let at: Int64
            let fields: [String: any Sendable]
            let algorithm: AuditChain.HashAlgorithm
            switch write {
            case .call(let entry, let digest):
                (kind, at, fields, algorithm) = ("call", entry.at, entry.json(), digest)
                calls[entry.requestId] = entry  // the last write of one request wins, as in gateway.db
            case .event(let eventKind, let eventAt, let eventFields, let digest):
                (kind, at, fields, algorithm) = (eventKind, eventAt, eventFields, digest)
            }
            let link = AuditChain.Link(
                seq: head.seq + 1, previous: head.hash, kind: kind, at: at, fields: fields, algorithm: algorithm)
            chainRows += [
                .integer(link.seq), .integer(at), .text(kind), .text(link.content), .text(link.previous),
                .text(link.hash),
            ]
            numbers.append(link.seq)
            head = (link.seq, link.hash)
        }
        try connection.query(
            "INSERT INTO citygate_audit_chain (seq, at, kind, content, prev_hash, hash) VALUES "
                + placeholders(rows: writes.count, columns: 6), chainRows, operation: "audit append")
        if !calls.isEmpty {
            var callRows: [PostgresValue] = []
            for entry in calls.values {
                callRows += [
                    .text(entry.requestId), .integer(entry.at), .text(entry.city), .text(entry.service),
                    .text(entry.operation), .text(entry.partnerId), .text(entry.clientId), .text(entry.subject),
                    .optional(entry.agent), .optional(entry.delegationId), .integer(Int64(entry.status)),
                    .optional(entry.outcome),
                ]
            }
            try connection.query(
                """
                INSERT INTO citygate_audit_call (request_id, at, city, service, operation, partner, client_id, subject,
                agent, delegation, status, outcome) VALUES \(placeholders(rows: calls.count, columns: 12))
                ON CONFLICT (request_id) DO UPDATE SET at = EXCLUDED.at, city = EXCLUDED.city,
                service = EXCLUDED.service, operation = EXCLUDED.operation, partner = EXCLUDED.partner,
                client_id = EXCLUDED.client_id, subject = EXCLUDED.subject, agent = EXCLUDED.agent,
                delegation = EXCLUDED.delegation, status = EXCLUDED.status, outcome = EXCLUDED.outcome
                """, callRows, operation: "audit append")
        }
        try connection.query(
            "UPDATE citygate_audit_head SET seq = $1, hash = $2 WHERE id = 1", [.integer(head.seq), .text(head.hash)],
            operation: "audit append")
        return numbers
    }

    /// `($1, $2, $3), ($4, $5, $6)` for 2 rows of 3 columns.
    private static func placeholders(rows: Int, columns: Int) -> String {
        (0..<rows).map { row in
            "(" + (1...columns).map { "$\(row * columns + $0)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
    }
}
