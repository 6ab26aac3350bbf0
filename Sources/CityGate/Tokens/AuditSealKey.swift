import Cryptography
import Foundation

/// The key that seals the audit chain: Ed25519, generated once in the data directory
/// (`audit-signing-key.pem`, mode 0600), kept apart from the token key so neither can stand in
/// for the other. Its public half goes to `audit-signing-key.pub` for `citygate audit verify`;
/// ops who keep a copy of that file elsewhere can verify against it even if the data directory
/// itself was tampered with.
struct AuditSealKey: Sendable {
    let key: AsymmetricKey
    /// `audit-` and the first bytes of the SHA-256 of the raw public key.
    let id: String

    /// Reads `audit-signing-key.pem` from `directory`, creating it (and its `.pub`) if missing.
    static func load(directory: String) throws(KeyFile.Failure) -> AuditSealKey {
        let key = try KeyFile.ed25519(at: directory + "/audit-signing-key.pem", purpose: "audit key")
        let publicPath = directory + "/audit-signing-key.pub"
        if !FileManager.default.fileExists(atPath: publicPath) {
            guard let pem = try? key.publicKeyPEM() else {
                throw KeyFile.Failure(description: "\(publicPath): the public key cannot be written")
            }
            try KeyFile.write(Array(pem.utf8), to: publicPath, mode: 0o644)
        }
        return AuditSealKey(key: key, id: KeyFile.id(of: key, prefix: "audit-"))
    }
}
