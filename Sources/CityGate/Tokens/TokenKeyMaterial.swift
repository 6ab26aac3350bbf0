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
        do { key = try KeyFile.ed25519(at: keyPath, purpose: "token signing key") } catch {
            throw Failure(description: error.description)
        }
        var salt: [UInt8]
        if let data = FileManager.default.contents(atPath: saltPath) {
            salt = Array(data)
        } else {
            do { salt = try SecureBytes.random(count: 32) } catch {
                throw Failure(description: "cannot make a subject salt: \(error)")
            }
            do { try KeyFile.write(salt, to: saltPath, mode: 0o600) } catch {
                throw Failure(description: error.description)
            }
        }
        guard salt.count >= 16 else { throw Failure(description: "\(saltPath): must hold at least 16 bytes") }
        return TokenKeyMaterial(
            signingKey: TokenSettings.SigningKey(id: KeyFile.id(of: key, prefix: "gw-"), key: key), subjectSalt: salt)
    }
}
