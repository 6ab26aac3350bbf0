import Cryptography
import Store

/// The citizen's own id, for the few backends that key on it (`"identity": "raw"` services).
///
/// Tokens carry only the pseudonym; at token exchange the partner-side id is sealed with
/// AES-256-GCM (key derived from the subject salt, the pseudonym as associated data) and stored
/// under the pseudonym. Only a call to a raw-identity service opens it, and only into that
/// call's template (`{subject.raw}`), never into headers, logs or errors.
public final class IdentityVault: Sendable {
    private let database: Database

    /// Uses `database`, migrated to the gateway schema.
    public init(database: Database) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
    }

    static func key(salt: [UInt8]) throws(CryptoError) -> [UInt8] {
        try Digest.sha256.hmac(key: salt, data: Array("citygate identity vault v1".utf8))
    }

    /// Seals and stores `raw` for `subject` until `expiresAt`.
    func store(subject: String, raw: String, salt: [UInt8], until expiresAt: Int64) throws -> Void {
        let nonce = try SecureBytes.random(count: 12)
        let sealed = try Cipher.gcmSeal(
            key: try Self.key(salt: salt), nonce: nonce, associatedData: Array(subject.utf8),
            plaintext: Array(raw.utf8))
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                """
                INSERT INTO identity (subject, sealed, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (subject) DO UPDATE SET sealed = excluded.sealed,
                expires_at = MAX(identity.expires_at, excluded.expires_at)
                """, [.text(subject), .blob(nonce + sealed), .integer(expiresAt)])
        }
    }

    /// The raw id for `subject`, or nil when none is kept (or it does not open).
    func reveal(subject: String, salt: [UInt8], now: Int64) -> String? {
        guard
            let stored = try? database.withConnection({ session throws(SQLiteError) in
                try session.query(
                    "SELECT sealed FROM identity WHERE subject = ?1 AND expires_at > ?2",
                    [.text(subject), .integer(now)]
                ) { $0.blob(0) }.first
            }) ?? nil, stored.count > 12, let key = try? Self.key(salt: salt),
            let plain = try? Cipher.gcmOpen(
                key: key, nonce: Array(stored.prefix(12)), associatedData: Array(subject.utf8),
                sealed: Array(stored.dropFirst(12)))
        else { return nil }
        return String(bytes: plain, encoding: .utf8)
    }
}
