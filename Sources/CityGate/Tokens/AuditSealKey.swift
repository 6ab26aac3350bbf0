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

    /// Why the key could not be read or made.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func load(directory: String) throws(Failure) -> AuditSealKey {
        let keyPath = directory + "/audit-signing-key.pem"
        let publicPath = directory + "/audit-signing-key.pub"
        let key: AsymmetricKey
        do {
            if let data = FileManager.default.contents(atPath: keyPath) {
                key = try AsymmetricKey(pem: String(decoding: data, as: UTF8.self))
                guard key.isPrivate, key.algorithm == .ed25519 else {
                    throw Failure(description: "\(keyPath): is not an Ed25519 private key")
                }
            } else {
                key = try AsymmetricKey.generateEd25519()
                guard
                    FileManager.default.createFile(
                        atPath: keyPath, contents: Data(try key.privateKeyPEM().utf8),
                        attributes: [.posixPermissions: 0o600])
                else { throw Failure(description: "\(keyPath): cannot be written") }
            }
            if !FileManager.default.fileExists(atPath: publicPath) {
                _ = FileManager.default.createFile(
                    atPath: publicPath, contents: Data(try key.publicKeyPEM().utf8),
                    attributes: [.posixPermissions: 0o644])
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(keyPath): cannot read or create the audit key (\(error))")
        }
        let digest = (try? Digest.sha256.hash((try? key.rawPublicKey()) ?? [])) ?? []
        return AuditSealKey(key: key, id: "audit-" + Encoding.hex(digest.prefix(6)))
    }
}
