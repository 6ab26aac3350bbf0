import Foundation
import Logging
import PostgresClient
import Synchronization

/// Refresh-token families and revocations in PostgreSQL, for instances that share them
/// (`gateway.json` `state.postgres`).
///
/// ```
///   redeem(rt) ─► UPDATE … SET used_at WHERE hash AND client AND used_at IS NULL AND not expired
///                   AND the family not revoked  RETURNING …   ─► fresh (one winner, any instance)
///              └─ no row: used before? ─► INSERT the family's revocation ─► reused
///   revoke ───► INSERT … ON CONFLICT DO UPDATE (revoked_at = the database's clock)
///   every 250 ms, each instance: SELECT revocations with revoked_at in the last 15 s ─► memory
/// ```
///
/// Every call checks revocations in memory; an instance learns of one made elsewhere at its
/// next poll. The poll re-reads a 15 s window, longer than a statement may run, so a revocation
/// whose transaction commits late is still seen.
final class SharedTokenStore: TokenStateStore {
    let pool: PostgresPool
    private let revoked = Mutex<[String: Int64]>([:])
    private let watermark = Atomic<Int64>(0)
    private let poller = Mutex<Task<Void, Never>?>(nil)
    /// Whether the last poll failed: logged when that changes, not four times a second.
    private let pollFailing = Atomic<Bool>(false)
    /// How often revocations made by other instances are read.
    static let pollInterval: Duration = .milliseconds(250)
    /// How far back each poll reads (database milliseconds).
    static let pollOverlapMilliseconds: Int64 = 15_000

    /// Migrates the schema and loads the live revocations (throws when the server cannot be
    /// reached at start), then polls for new ones.
    init(url: String, now: Int64) throws(PostgresError) {
        let setup = PostgresConnection(url: url)
        try SharedTokenSchema.migrations.apply(on: setup)
        let rows = try setup.query(
            """
            SELECT kind, id, expires_at, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
            FROM citygate_revocation WHERE expires_at > $1
            """, [.integer(now)])
        let clock = try setup.query("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
        setup.close()
        revoked.withLock { entries in
            for row in rows.rows { entries["\(row[0] ?? ""):\(row[1] ?? "")"] = Int64(row[2] ?? "") ?? 0 }
        }
        watermark.store(clock.first?.integer(0) ?? 0, ordering: .relaxed)
        // Four threads: token grants, delegations, the identity vault and idempotency keys share them.
        pool = PostgresPool(url: url, size: 4)
        let task = Task { [self] in
            var lastPurge = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.pollInterval)
                await poll()
                // Expired rows go every ten minutes, from every instance (the deletes are
                // idempotent and cheap: no coordination needed for who does it).
                if lastPurge.duration(to: .now) > .seconds(600) {
                    lastPurge = .now
                    do { _ = try await purgeExpired(now: Int64(Date().timeIntervalSince1970)) } catch {
                        Log.error("expired tokens not purged", ["code": StoreErrorCode.of(error)])
                    }
                }
            }
        }
        poller.withLock { $0 = task }
    }

    /// Stops polling and closes the connections.
    func stop() {
        poller.withLock { $0 }?.cancel()
        pool.shutdown()
    }

    /// Reads revocations made since the last poll (minus the overlap) into memory.
    func poll() async {
        let since = watermark.load(ordering: .relaxed) - Self.pollOverlapMilliseconds
        let now = Int64(Date().timeIntervalSince1970)
        do {
            let (rows, clock) = try await pool.run { connection throws(PostgresError) in
                let rows = try connection.query(
                    "SELECT kind, id, expires_at FROM citygate_revocation WHERE revoked_at > $1",
                    [.integer(since)], operation: "poll revocations")
                let clock = try connection.query(
                    "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", operation: "poll revocations")
                return (rows, clock.first?.integer(0) ?? 0)
            }
            revoked.withLock { entries in
                entries = entries.filter { $0.value > now }
                for row in rows.rows { entries["\(row[0] ?? ""):\(row[1] ?? "")"] = Int64(row[2] ?? "") ?? 0 }
            }
            // Read before the rows: a revocation committed after it is in the next window.
            watermark.store(max(watermark.load(ordering: .relaxed), clock - 1), ordering: .relaxed)
            if pollFailing.exchange(false, ordering: .relaxed) { Log.info("revocations read again") }
        } catch {
            // Revocations already known stay in force; new ones arrive once the server answers.
            if !pollFailing.exchange(true, ordering: .relaxed) {
                Log.error("revocations not read; those already known stay in force", ["code": error.code])
            }
        }
    }

    func storeRefresh(_ token: String, family: String, grant: TokenGrant, expiresAt: Int64) async throws {
        let hash = TokenStore.hash(token)
        let json = grant.json()
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                INSERT INTO citygate_refresh_token (hash, family, client_id, grant_json, expires_at)
                VALUES ($1, $2, $3, $4, $5)
                """,
                [.text(hash), .text(family), .text(grant.clientId), .text(json), .integer(expiresAt)],
                operation: "store refresh token")
        }
    }

    func redeem(_ token: String, clientId: String, now: Int64) async throws -> TokenStore.Redemption {
        let hash = TokenStore.hash(token)
        let revocationUntil = now + TokenStore.familyRevocationSeconds
        let outcome = try await pool.run { connection throws(PostgresError) -> TokenStore.Redemption in
            try connection.transaction { connection throws(PostgresError) -> TokenStore.Redemption in
                let fresh = try connection.query(
                    """
                    UPDATE citygate_refresh_token AS t SET used_at = $3
                    WHERE hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3
                    AND NOT EXISTS (SELECT 1 FROM citygate_revocation AS r
                        WHERE r.kind = 'family' AND r.id = t.family AND r.expires_at > $3)
                    RETURNING family, grant_json, expires_at
                    """, [.text(hash), .text(clientId), .integer(now)], operation: "redeem refresh token")
                if let row = fresh.first {
                    guard let grant = TokenGrant(json: row.text(1) ?? "") else { return .invalid }
                    return .fresh(family: row.text(0) ?? "", grant: grant, expiresAt: row.integer(2))
                }
                // Not redeemable: used before (theft: revoke the family), or unknown, expired,
                // another client's, or of a revoked family.
                let used = try connection.query(
                    "SELECT family FROM citygate_refresh_token WHERE hash = $1 AND client_id = $2 AND used_at IS NOT NULL",
                    [.text(hash), .text(clientId)], operation: "redeem refresh token")
                guard let family = used.first?.text(0) else { return .invalid }
                try Self.insertRevocation(kind: "family", id: family, until: revocationUntil, connection)
                return .reused(family: family)
            }
        }
        if case .reused(let family) = outcome {
            revoked.withLock { $0["family:" + family] = revocationUntil }
        }
        return outcome
    }

    func family(ofRefresh token: String, clientId: String) async throws -> String? {
        let hash = TokenStore.hash(token)
        return try await pool.run { connection throws(PostgresError) in
            try connection.query(
                "SELECT family FROM citygate_refresh_token WHERE hash = $1 AND client_id = $2",
                [.text(hash), .text(clientId)], operation: "find refresh family"
            ).first?.text(0)
        }
    }

    func revoke(kind: String, id: String, until expiresAt: Int64) async throws {
        try await pool.run { connection throws(PostgresError) in
            try Self.insertRevocation(kind: kind, id: id, until: expiresAt, connection)
        }
        revoked.withLock { $0["\(kind):\(id)"] = expiresAt }
    }

    private static func insertRevocation(
        kind: String, id: String, until expiresAt: Int64, _ connection: PostgresConnection
    )
        throws(PostgresError)
    {
        try connection.query(
            """
            INSERT INTO citygate_revocation (kind, id, expires_at) VALUES ($1, $2, $3)
            ON CONFLICT (kind, id) DO UPDATE SET expires_at = GREATEST(citygate_revocation.expires_at, EXCLUDED.expires_at),
            revoked_at = EXCLUDED.revoked_at
            """, [.text(kind), .text(id), .integer(expiresAt)], operation: "revoke")
    }

    func isRevoked(jti: String) -> Bool { revoked.withLock { $0["jti:" + jti] != nil } }

    func isRevoked(family: String) -> Bool { revoked.withLock { $0["family:" + family] != nil } }

    /// Drops revocations, refresh tokens and identities past their expiry (any instance may;
    /// the deletes are idempotent); returns how many rows went.
    func purgeExpired(now: Int64) async throws -> Int {
        try await pool.run { connection throws(PostgresError) in
            var count = 0
            for table in ["citygate_revocation", "citygate_refresh_token", "citygate_identity"] {
                count += try connection.query(
                    "DELETE FROM \(table) WHERE expires_at <= $1", [.integer(now)], operation: "purge"
                ).affected
            }
            return count
        }
    }
}

/// Sealed identities in PostgreSQL (`citygate_identity`): a token exchanged through one
/// instance opens its citizen's raw-identity services on every other.
struct SharedIdentityRows: SealedIdentityRows {
    let pool: PostgresPool

    func put(subject: String, sealed: [UInt8], until expiresAt: Int64) async throws {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                INSERT INTO citygate_identity (subject, sealed, expires_at) VALUES ($1, $2, $3)
                ON CONFLICT (subject) DO UPDATE SET sealed = EXCLUDED.sealed,
                expires_at = GREATEST(citygate_identity.expires_at, EXCLUDED.expires_at)
                """, [.text(subject), .bytes(sealed), .integer(expiresAt)], operation: "store identity")
        }
    }

    func get(subject: String, now: Int64) async throws -> [UInt8]? {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                "SELECT sealed FROM citygate_identity WHERE subject = $1 AND expires_at > $2",
                [.text(subject), .integer(now)], operation: "read identity"
            ).first?.bytes(0)
        }
    }
}
