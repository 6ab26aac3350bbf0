import COpenSSL

/// One-shot message digests and HMACs (OpenSSL 3 EVP, with the algorithms fetched once).
public enum Digest: String, Sendable, CaseIterable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"
    /// SM3 (GB/T 32905, 国密).
    case sm3 = "SM3"

    /// The digest's length in bytes.
    public var length: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha512: 64
        case .sm3: 32
        }
    }

    /// The digest of `data`.
    public func hash(_ data: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        guard let algorithm = Self.algorithms.digests[self] ?? nil else {
            throw CryptoError("digest \(rawValue) unavailable")
        }
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = Array(data).withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, algorithm, nil)
        }
        try check(ok, "digest \(rawValue)")
        return Array(output.prefix(Int(length)))
    }

    /// The HMAC of `data` under `key` (RFC 2104).
    public func hmac(key: some Collection<UInt8>, data: some Collection<UInt8>) throws(CryptoError) -> [UInt8] {
        guard let template = Self.algorithms.hmacTemplates[self] ?? nil else {
            throw CryptoError("HMAC-\(rawValue) unavailable")
        }
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length = 0
        let keyLength = key.count
        // An empty key is legal for HMAC, but OpenSSL wants a non-NULL pointer: lend it one byte
        // and say the length is 0.
        let keyBytes = keyLength == 0 ? [0] : Array(key)
        let dataBytes = Array(data)
        let ok = keyBytes.withUnsafeBytes { keyBuffer in
            dataBytes.withUnsafeBytes { dataBuffer in
                citygate_hmac(
                    template, keyBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), keyLength,
                    dataBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), dataBuffer.count, &output,
                    output.count, &length)
            }
        }
        guard ok == 1 else { throw CryptoError("HMAC-\(rawValue)") }
        return Array(output.prefix(length))
    }

    /// Digests and HMAC templates fetched from the provider once for the process.
    private static let algorithms = FetchedAlgorithms()
}

/// OpenSSL algorithm objects shared by every thread. They are read-only once fetched (each HMAC
/// copies its template), and live as long as the process.
private final class FetchedAlgorithms: @unchecked Sendable {
    let digests: [Digest: OpaquePointer?]
    let hmacTemplates: [Digest: OpaquePointer?]

    init() {
        var digests: [Digest: OpaquePointer?] = [:]
        var templates: [Digest: OpaquePointer?] = [:]
        for digest in Digest.allCases {
            digests[digest] = EVP_MD_fetch(nil, digest.rawValue, nil)
            templates[digest] = citygate_hmac_template(digest.rawValue)
        }
        self.digests = digests
        self.hmacTemplates = templates
    }
}

/// Constant-time helpers and randomness.
public enum SecureBytes {
    /// Whether two byte strings are equal, in time that depends only on their lengths.
    public static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        return lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0 }
        }
    }

    /// `count` bytes from OpenSSL's CSPRNG.
    public static func random(count: Int) throws(CryptoError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return bytes }
        try check(RAND_bytes(&bytes, Int32(count)), "RAND_bytes")
        return bytes
    }
}
