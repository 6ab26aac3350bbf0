import Cryptography
import Store

/// The citizen's own id, for the few backends that key on it (`"identity": "raw"` services).
///
/// Tokens carry only the pseudonym; at token exchange the partner-side id is sealed with
/// AES-256-GCM (key derived from the subject salt, the pseudonym as associated data) and stored
/// under the pseudonym. Only a call to a raw-identity service opens it, and only into that
/// call's template (`{subject.raw}`), never into headers, logs or errors.
///
/// With `gateway.json` `dataEncryption` set, that sealed value is sealed once more under the
/// configured key (SM4-GCM or AES-256-GCM, ``DataCipher``), so the vault is protected by a key the
/// city manages and rotates, not only by one derived from the subject salt.
public final class IdentityVault: Sendable {
    /// Where the sealed values are kept: gateway.db, or PostgreSQL when instances share them.
    private let rows: any SealedIdentityRows
    /// The at-rest cipher in force, read at each store and reveal (rotation through reload).
    private let cipher: @Sendable () -> DataCipher?

    /// Uses `database`, migrated to the gateway schema.
    public init(database: Database) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.rows = LocalIdentityRows(database: database)
        self.cipher = { nil }
    }

    /// Uses `database`, with `cipher` sealing what is stored at rest.
    init(database: Database, cipher: @escaping @Sendable () -> DataCipher?) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.rows = LocalIdentityRows(database: database)
        self.cipher = cipher
    }

    /// Uses `rows` (the shared store), with `cipher` sealing what is stored at rest.
    init(rows: any SealedIdentityRows, cipher: @escaping @Sendable () -> DataCipher?) {
        self.rows = rows
        self.cipher = cipher
    }

    static func context(_ subject: String) -> String { "identity:\(subject)" }

    static func key(salt: [UInt8]) throws(CryptoError) -> [UInt8] {
        try Digest.sha256.hmac(key: salt, data: Array("citygate identity vault v1".utf8))
    }

    /// Seals and stores `raw` for `subject` until `expiresAt`.
    func store(subject: String, raw: String, salt: [UInt8], until expiresAt: Int64) async throws {
        let nonce = try SecureBytes.random(count: 12)
        let sealed = try Cipher.gcmSeal(
            key: try Self.key(salt: salt), nonce: nonce, associatedData: Array(subject.utf8),
            plaintext: Array(raw.utf8))
        var stored = nonce + sealed
        if let cipher = cipher() {
            stored = Array(try cipher.seal(Encoding.base64(stored), context: Self.context(subject)).utf8)
        }
        try await rows.put(subject: subject, sealed: stored, until: expiresAt)
    }

    /// The raw id for `subject`, or nil when none is kept (or it does not open).
    func reveal(subject: String, salt: [UInt8], now: Int64) async -> String? {
        guard
            let found = try? await rows.get(subject: subject, now: now),
            let stored = unwrapped(found, subject: subject),
            stored.count > 12,
            let key = try? Self.key(salt: salt),
            let plain = try? Cipher.gcmOpen(
                key: key, nonce: Array(stored.prefix(12)), associatedData: Array(subject.utf8),
                sealed: Array(stored.dropFirst(12)))
        else { return nil }
        return String(bytes: plain, encoding: .utf8)
    }

    /// The salt-sealed bytes inside a value sealed under `dataEncryption` (or the value itself
    /// when it was stored without); nil when its key is no longer configured.
    private func unwrapped(_ stored: [UInt8], subject: String) -> [UInt8]? {
        guard stored.starts(with: Array(DataCipher.prefix.utf8)) else { return stored }
        guard let text = String(bytes: stored, encoding: .utf8),
            let opened = try? DataCipher.open(text, context: Self.context(subject), with: cipher())
        else { return nil }
        return Encoding.base64Decode(opened)
    }
}

/// Where sealed identities are kept (already sealed: the store never sees a raw id).
protocol SealedIdentityRows: Sendable {
    /// Keeps `sealed` for `subject` until `expiresAt` (the later expiry wins on a re-store).
    func put(subject: String, sealed: [UInt8], until expiresAt: Int64) async throws
    /// The sealed value for `subject`, if one is kept and not expired.
    func get(subject: String, now: Int64) async throws -> [UInt8]?
}

/// Sealed identities in gateway.db (`identity`).
struct LocalIdentityRows: SealedIdentityRows {
    let database: Database

    func put(subject: String, sealed: [UInt8], until expiresAt: Int64) throws {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                """
                INSERT INTO identity (subject, sealed, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (subject) DO UPDATE SET sealed = excluded.sealed,
                expires_at = MAX(identity.expires_at, excluded.expires_at)
                """, [.text(subject), .blob(sealed), .integer(expiresAt)])
        }
    }

    func get(subject: String, now: Int64) throws -> [UInt8]? {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                "SELECT sealed FROM identity WHERE subject = ?1 AND expires_at > ?2", [.text(subject), .integer(now)]
            ) { $0.blob(0) }.first
        }
    }
}
