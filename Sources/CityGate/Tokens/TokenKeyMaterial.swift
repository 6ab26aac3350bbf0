import Cryptography
import Foundation

/// The gateway's own token key and subject salt when `gateway.json` names none: generated once
/// and kept in the data directory (mode 0600), so tokens and subject hashes survive restarts.
struct TokenKeyMaterial: Sendable {
    /// The generated signing key.
    let signingKey: TokenSettings.SigningKey
    /// The generated subject salt.
    let subjectSalt: [UInt8]

    /// Why the material could not be read or made.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads `token-signing-key.pem` and `subject-salt` from `directory`, creating them if missing.
    static func load(directory: String) throws(Failure) -> TokenKeyMaterial {
        let keyPath = directory + "/token-signing-key.pem"
        let saltPath = directory + "/subject-salt"
        let key: AsymmetricKey
        do {
            if let data = FileManager.default.contents(atPath: keyPath) {
                key = try AsymmetricKey(pem: String(decoding: data, as: UTF8.self))
                guard key.isPrivate, key.algorithm == .ed25519 else {
                    throw Failure(description: "\(keyPath): is not an Ed25519 private key")
                }
            } else {
                key = try AsymmetricKey.generateEd25519()
                try write(Array(try key.privateKeyPEM().utf8), to: keyPath)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(keyPath): cannot read or create the token signing key (\(error))")
        }
        var salt: [UInt8]
        if let data = FileManager.default.contents(atPath: saltPath) {
            salt = Array(data)
        } else {
            do { salt = try SecureBytes.random(count: 32) } catch {
                throw Failure(description: "cannot make a subject salt: \(error)")
            }
            try write(salt, to: saltPath)
        }
        guard salt.count >= 16 else { throw Failure(description: "\(saltPath): must hold at least 16 bytes") }
        let raw = (try? key.rawPublicKey()) ?? []
        let digest = (try? Digest.sha256.hash(raw)) ?? []
        let id = "gw-" + Encoding.hex(digest.prefix(6))
        return TokenKeyMaterial(signingKey: TokenSettings.SigningKey(id: id, key: key), subjectSalt: salt)
    }

    private static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        guard
            FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        else { throw Failure(description: "\(path): cannot be written") }
    }
}
