import Cryptography
import Foundation

/// An Ed25519 private key the gateway keeps in its data directory (PEM, mode 0600): read when
/// the file is there, generated and written once otherwise, so what it signs stays verifiable
/// across restarts. The token key and the audit key are two such files.
enum KeyFile {
    /// Why a key file could not be read or made (the path and what is wrong; never key material).
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The key at `path`, created if missing; `purpose` names it in messages.
    static func ed25519(at path: String, purpose: String) throws(Failure) -> AsymmetricKey {
        do {
            if let data = FileManager.default.contents(atPath: path) {
                let key = try AsymmetricKey(pem: String(decoding: data, as: UTF8.self))
                guard key.isPrivate, key.algorithm == .ed25519 else {
                    throw Failure(description: "\(path): is not an Ed25519 private key")
                }
                return key
            }
            let key = try AsymmetricKey.generateEd25519()
            try write(Array(try key.privateKeyPEM().utf8), to: path, mode: 0o600)
            return key
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(path): cannot read or create the \(purpose) (\(error))")
        }
    }

    /// Writes `bytes` to a new file with `mode`.
    static func write(_ bytes: [UInt8], to path: String, mode: Int) throws(Failure) {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: mode])
        else { throw Failure(description: "\(path): cannot be written") }
    }

    /// A short id for a key: `prefix` and the first bytes of the SHA-256 of its raw public key.
    static func id(of key: AsymmetricKey, prefix: String) -> String {
        let digest = (try? Digest.sha256.hash((try? key.rawPublicKey()) ?? [])) ?? []
        return prefix + Encoding.hex(digest.prefix(6))
    }
}
