import COpenSSL

/// Salted, stretched hashes of client secrets (PBKDF2-HMAC-SHA256, RFC 8018), in the text form
/// `pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>` so a partner file can hold the hash
/// and never the secret.
public enum PasswordHash {
    /// The default work factor: about 10 ms on this project's machines, paid once per token
    /// request (client secrets are long random strings, so this guards leaked files, not guesses).
    public static let defaultIterations = 20_000

    /// The raw PBKDF2-HMAC-SHA256 output.
    public static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, length: Int = 32)
        throws(CryptoError) -> [UInt8]
    {
        guard iterations >= 1, length >= 1 else { throw CryptoError(operation: "PBKDF2", detail: "bad parameters") }
        var output = [UInt8](repeating: 0, count: length)
        // OpenSSL wants non-NULL pointers even for empty inputs.
        let passwordBytes = password.isEmpty ? [0] : password
        let result = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            salt.withUnsafeBufferPointer { saltBuffer in
                passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                    PKCS5_PBKDF2_HMAC(
                        passwordChars.baseAddress, Int32(password.count), saltBuffer.baseAddress, Int32(salt.count),
                        Int32(iterations), EVP_sha256(), Int32(length), &output)
                }
            }
        }
        try check(result, "PBKDF2")
        return output
    }

    /// Hashes `secret` with a fresh 16-byte salt, in the text form.
    public static func make(secret: String, iterations: Int = defaultIterations) throws(CryptoError) -> String {
        let salt = try SecureBytes.random(count: 16)
        let hash = try pbkdf2SHA256(password: Array(secret.utf8), salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Encoding.base64(salt))$\(Encoding.base64(hash))"
    }

    /// A parsed hash, ready to check secrets against.
    public struct Stored: Sendable, Equatable {
        /// The work factor.
        public let iterations: Int
        /// The salt.
        public let salt: [UInt8]
        /// The expected PBKDF2 output.
        public let hash: [UInt8]

        /// Parses the text form; nil when it is not one (wrong prefix, iterations outside
        /// 1,000…10,000,000, salt under 8 bytes, hash under 16 bytes, bad base64).
        public init?(_ text: String) {
            let parts = text.split(separator: "$", omittingEmptySubsequences: false)
            guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iterations = Int(parts[1]),
                (1_000...10_000_000).contains(iterations),
                let salt = Encoding.base64Decode(String(parts[2])), salt.count >= 8,
                let hash = Encoding.base64Decode(String(parts[3])), hash.count >= 16
            else { return nil }
            self.iterations = iterations
            self.salt = salt
            self.hash = hash
        }

        /// Whether `secret` hashes to this value (constant-time comparison).
        public func matches(_ secret: String) -> Bool {
            guard
                let candidate = try? PasswordHash.pbkdf2SHA256(
                    password: Array(secret.utf8), salt: salt, iterations: iterations, length: hash.count)
            else { return false }
            return SecureBytes.equal(candidate, hash)
        }
    }
}
