import Cryptography
import Foundation

/// Encryption at rest of the personal data the gateway writes itself — rating comments and
/// follow-up notes — by configuration (`gateway.json` `dataEncryption`):
///
/// ```json
/// "dataEncryption": {"algorithm": "sm4-gcm", "keys": [{"id": "2026-12", "key": "file:keys/data-2026-12.key"}]}
/// ```
///
/// `sm4-gcm` (16-byte keys, 国密) or `aes-256-gcm` (32-byte keys); a key file holds the key in hex
/// or base64. The first key encrypts; every listed key decrypts, so a key is rotated by putting a
/// new one first and removing the old one once nothing sealed under it is kept. A stored value
/// reads `enc:v1:<algorithm>:<key id>:<base64 nonce ‖ ciphertext ‖ tag>`, with the row's identity
/// as associated data (a value moved to another row does not open); a value without the prefix
/// was written before encryption was configured and is read as it is.
public struct DataCipher: Sendable {
    /// The algorithms.
    public enum Algorithm: String, Sendable, CaseIterable {
        case sm4GCM = "sm4-gcm"
        case aes256GCM = "aes-256-gcm"

        var keyLength: Int { self == .sm4GCM ? 16 : 32 }
    }

    /// One key.
    public struct Key: Sendable {
        public var id: String
        var bytes: [UInt8]
    }

    /// Why a stored value does not open (no data in it).
    public struct Unreadable: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public var algorithm: Algorithm
    /// The first encrypts; all decrypt.
    public var keys: [Key]

    static let prefix = "enc:v1:"

    /// Seals `text` for the row `context`.
    public func seal(_ text: String, context: String) throws -> String {
        guard let key = keys.first else { throw Unreadable(description: "no key") }
        let nonce = try SecureBytes.random(count: 12)
        let aad = Array(context.utf8)
        let sealed: [UInt8]
        switch algorithm {
        case .sm4GCM:
            sealed = try SM4GCM.seal(key: key.bytes, nonce: nonce, associatedData: aad, plaintext: Array(text.utf8))
        case .aes256GCM:
            sealed = try Cipher.gcmSeal(key: key.bytes, nonce: nonce, associatedData: aad, plaintext: Array(text.utf8))
        }
        return "\(Self.prefix)\(algorithm.rawValue):\(key.id):\(Encoding.base64(nonce + sealed))"
    }

    /// The text of a stored value: opened when sealed (by any configured key, of either
    /// algorithm), as it is when it was written in clear.
    public func open(_ stored: String, context: String) throws(Unreadable) -> String {
        try Self.open(stored, context: context, with: self)
    }

    /// `stored` opened with `cipher`'s keys, or as it is when not sealed; sealed without a cipher
    /// configured is unreadable.
    static func open(_ stored: String, context: String, with cipher: DataCipher?) throws(Unreadable) -> String {
        guard stored.hasPrefix(prefix) else { return stored }
        let parts = stored.dropFirst(prefix.count).split(separator: ":", maxSplits: 2).map(String.init)
        guard parts.count == 3, let algorithm = Algorithm(rawValue: parts[0]),
            let bytes = Encoding.base64Decode(parts[2]), bytes.count >= 28
        else { throw Unreadable(description: "a sealed value is malformed") }
        guard let cipher, let key = cipher.keys.first(where: { $0.id == parts[1] }) else {
            throw Unreadable(description: "sealed under key \(parts[1]), which is not configured")
        }
        guard key.bytes.count == algorithm.keyLength else {
            throw Unreadable(description: "key \(parts[1]) is not a \(algorithm.rawValue) key")
        }
        let nonce = Array(bytes.prefix(12))
        let sealed = Array(bytes.dropFirst(12))
        let aad = Array(context.utf8)
        let plain: [UInt8]?
        switch algorithm {
        case .sm4GCM: plain = try? SM4GCM.open(key: key.bytes, nonce: nonce, associatedData: aad, sealed: sealed)
        case .aes256GCM: plain = try? Cipher.gcmOpen(key: key.bytes, nonce: nonce, associatedData: aad, sealed: sealed)
        }
        guard let plain, let text = String(bytes: plain, encoding: .utf8) else {
            throw Unreadable(description: "a value sealed under key \(parts[1]) does not open")
        }
        return text
    }

    /// Reads `dataEncryption`; every problem to `reader`.
    static func load(
        _ object: [String: Any], reader: ConfigReader, secret: ([String: Any], String, String) -> String?
    ) -> DataCipher? {
        reader.checkFields(object, at: "$.dataEncryption", allowed: ["algorithm", "keys"])
        let name = reader.string(object, "algorithm", at: "$.dataEncryption") ?? ""
        let algorithm = Algorithm(rawValue: name)
        if algorithm == nil && !name.isEmpty {
            reader.report(
                "$.dataEncryption.algorithm",
                "must be one of \(Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let items = reader.array(object, "keys", at: "$.dataEncryption") ?? []
        if items.isEmpty && object["keys"] != nil {
            reader.report("$.dataEncryption.keys", "must list at least one key")
        }
        var keys: [Key] = []
        for (index, item) in items.enumerated() {
            let path = "$.dataEncryption.keys[\(index)]"
            guard let entry = reader.object(item, at: path) else { continue }
            reader.checkFields(entry, at: path, allowed: ["id", "key"])
            let id = reader.string(entry, "id", at: path) ?? ""
            if id.contains(":") || id.isEmpty { reader.report("\(path).id", "must be a non-empty id without ':'") }
            if keys.contains(where: { $0.id == id }) { reader.report("\(path).id", "duplicate key id '\(id)'") }
            guard let text = secret(entry, "key", path) else {
                if entry["key"] == nil { reader.report("\(path).key", "is required") }
                continue
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard let bytes = Encoding.hexDecode(trimmed) ?? Encoding.base64Decode(trimmed),
                let algorithm, bytes.count == algorithm.keyLength
            else {
                if let algorithm {
                    reader.report(
                        "\(path).key",
                        "must resolve to \(algorithm.keyLength) bytes in hex or base64 for \(algorithm.rawValue)")
                }
                continue
            }
            keys.append(Key(id: id, bytes: bytes))
        }
        guard let algorithm, !keys.isEmpty, keys.count == items.count else { return nil }
        return DataCipher(algorithm: algorithm, keys: keys)
    }
}
