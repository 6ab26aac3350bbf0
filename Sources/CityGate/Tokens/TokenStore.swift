import Cryptography
import Store
import Synchronization

/// The durable side of tokens: refresh-token families with rotation, the revocation list and
/// delegations, in the gateway's SQLite store.
///
/// ```
///   refresh(rt) ─► hash ─► row? ─ none/expired ─► invalid_grant
///                            ├─ already used ───► revoke the whole family (reuse = theft) ─► invalid_grant
///                            └─ fresh ──────────► mark used, issue the next token of the family
/// ```
///
/// Revocations are also held in memory, so checking one on every call costs a lookup, not a
/// query; several instances share them through ``SharedTokenStore`` instead.
public final class TokenStore: TokenStateStore {
    private let database: Database
    private let revoked = Mutex<[String: Int64]>([:])

    /// Uses `database`, migrated to the gateway schema; loads the live revocations.
    public init(database: Database, now: Int64) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
        let rows = try database.withConnection { session throws(SQLiteError) in
            try session.query(
                "SELECT kind, id, expires_at FROM revocation WHERE expires_at > ?1", [.integer(now)]
            ) { row in ((row.text(0) ?? "") + ":" + (row.text(1) ?? ""), row.integer(2)) }
        }
        revoked.withLock { entries in for (key, expiry) in rows { entries[key] = expiry } }
    }

    static func hash(_ token: String) -> String {
        Encoding.hex((try? Digest.sha256.hash(Array(token.utf8))) ?? [])
    }

    /// Stores a new refresh token of `family` for `grant`.
    func storeRefresh(_ token: String, family: String, grant: TokenGrant, expiresAt: Int64) throws(SQLiteError) {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                "INSERT INTO refresh_token (hash, family, client_id, grant_json, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                [
                    .text(Self.hash(token)), .text(family), .text(grant.clientId), .text(grant.json()),
                    .integer(expiresAt),
                ])
        }
    }

    /// What redeeming a refresh token found.
    enum Redemption: Equatable {
        /// Valid and now used: the caller issues the next token of `family`.
        case fresh(family: String, grant: TokenGrant, expiresAt: Int64)
        /// Unknown, expired, of another client, or its family revoked.
        case invalid
        /// Used before: the whole family is now revoked.
        case reused(family: String)
    }

    /// How long a revoked family stays listed: past the longest refresh lifetime, so no token of
    /// it can come back.
    static let familyRevocationSeconds: Int64 = 366 * 86_400

    /// Redeems `token` for `clientId`, atomically: two concurrent redemptions of one token give
    /// one `fresh` and one `reused`.
    func redeem(_ token: String, clientId: String, now: Int64) throws(SQLiteError) -> Redemption {
        let hash = Self.hash(token)
        let outcome = try database.transaction { session throws(SQLiteError) -> Redemption in
            let rows = try session.query(
                "SELECT family, client_id, grant_json, expires_at, used_at FROM refresh_token WHERE hash = ?1",
                [.text(hash)]
            ) { row in
                (row.text(0) ?? "", row.text(1) ?? "", row.text(2) ?? "", row.integer(3), row.text(4) != nil)
            }
            guard let (family, owner, grantJSON, expiresAt, used) = rows.first, owner == clientId,
                let grant = TokenGrant(json: grantJSON)
            else { return .invalid }
            if used {
                try session.run(
                    "INSERT OR REPLACE INTO revocation (kind, id, expires_at) VALUES ('family', ?1, ?2)",
                    [.text(family), .integer(now + Self.familyRevocationSeconds)])
                return .reused(family: family)
            }
            guard expiresAt > now else { return .invalid }
            try session.run("UPDATE refresh_token SET used_at = ?2 WHERE hash = ?1", [.text(hash), .integer(now)])
            return .fresh(family: family, grant: grant, expiresAt: expiresAt)
        }
        switch outcome {
        case .reused(let family):
            revoked.withLock { $0["family:" + family] = now + Self.familyRevocationSeconds }
        case .fresh(let family, _, _) where isRevoked(family: family):
            return .invalid
        default: break
        }
        return outcome
    }

    /// The family of a refresh token this client holds, if any.
    func family(ofRefresh token: String, clientId: String) throws(SQLiteError) -> String? {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                "SELECT family FROM refresh_token WHERE hash = ?1 AND client_id = ?2",
                [.text(Self.hash(token)), .text(clientId)]
            ) { $0.text(0) }.first ?? nil
        }
    }

    /// Revokes one access token (`kind` "jti") or a whole family ("family") until `expiresAt`.
    func revoke(kind: String, id: String, until expiresAt: Int64) throws(SQLiteError) {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                "INSERT OR REPLACE INTO revocation (kind, id, expires_at) VALUES (?1, ?2, ?3)",
                [.text(kind), .text(id), .integer(expiresAt)])
        }
        revoked.withLock { $0["\(kind):\(id)"] = expiresAt }
    }

    /// Whether an access token id is revoked.
    func isRevoked(jti: String) -> Bool { revoked.withLock { $0["jti:" + jti] != nil } }

    /// Whether a refresh family (and every access token issued from it) is revoked.
    func isRevoked(family: String) -> Bool { revoked.withLock { $0["family:" + family] != nil } }

    /// Drops revocations and refresh tokens past their expiry; returns how many rows went.
    @discardableResult
    func purgeExpired(now: Int64) throws(SQLiteError) -> Int {
        revoked.withLock { entries in entries = entries.filter { $0.value > now } }
        return try database.withConnection { session throws(SQLiteError) in
            try session.run("DELETE FROM revocation WHERE expires_at <= ?1", [.integer(now)])
                + session.run("DELETE FROM refresh_token WHERE expires_at <= ?1", [.integer(now)])
        }
    }
}
