import COpenSSL

/// SM4-GCM (GB/T 38636-2020, RFC 8998): GCM (NIST SP 800-38D) over the SM4 block cipher, built
/// here because Debian's OpenSSL 3.0 offers SM4 in ECB, CBC and CTR but not GCM. The block cipher
/// and the counter stream are OpenSSL's; the GHASH universal hash is computed below.
///
/// A 96-bit nonce only (J0 = nonce ‖ 0³¹ ‖ 1), a 16-byte tag appended to the ciphertext, the
/// tag checked in constant time before anything is decrypted.
public enum SM4GCM {
    /// The longest plaintext: OpenSSL's CTR carries into the nonce where GCM's inc32 would wrap,
    /// so the 32-bit block counter must not wrap (2³² − 2 blocks).
    static let maxLength = (1 << 32 - 2) * 16

    /// `ciphertext ‖ tag` of `plaintext` under a 16-byte key and a 12-byte nonce.
    public static func seal(key: [UInt8], nonce: [UInt8], associatedData: [UInt8] = [], plaintext: [UInt8])
        throws(CryptoError) -> [UInt8]
    {
        try validate(key: key, nonce: nonce, length: plaintext.count)
        let ciphertext = try counterStream(key: key, nonce: nonce, data: plaintext)
        return ciphertext + (try tag(key: key, nonce: nonce, associatedData: associatedData, ciphertext: ciphertext))
    }

    /// The plaintext of `sealed` (`ciphertext ‖ tag`), or an error when the tag does not match.
    public static func open(key: [UInt8], nonce: [UInt8], associatedData: [UInt8] = [], sealed: [UInt8])
        throws(CryptoError) -> [UInt8]
    {
        guard sealed.count >= 16 else { throw CryptoError(operation: "SM4-GCM open", detail: "shorter than a tag") }
        let ciphertext = Array(sealed.dropLast(16))
        try validate(key: key, nonce: nonce, length: ciphertext.count)
        let expected = try tag(key: key, nonce: nonce, associatedData: associatedData, ciphertext: ciphertext)
        guard SecureBytes.equal(expected, Array(sealed.suffix(16))) else {
            throw CryptoError(operation: "SM4-GCM open", detail: "the tag does not match")
        }
        return try counterStream(key: key, nonce: nonce, data: ciphertext)
    }

    private static func validate(key: [UInt8], nonce: [UInt8], length: Int) throws(CryptoError) {
        guard key.count == 16 else { throw CryptoError(operation: "SM4-GCM", detail: "the key must be 16 bytes") }
        guard nonce.count == 12 else { throw CryptoError(operation: "SM4-GCM", detail: "the nonce must be 12 bytes") }
        guard length <= maxLength else { throw CryptoError(operation: "SM4-GCM", detail: "the data is too long") }
    }

    /// SM4 of one block.
    private static func block(key: [UInt8], _ input: [UInt8]) throws(CryptoError) -> [UInt8] {
        try Cipher.sm4CBC(encrypt: true, key: key, iv: [UInt8](repeating: 0, count: 16), data: input, padding: false)
    }

    /// GCTR from inc32(J0): SM4-CTR with the counter block nonce ‖ 00000002.
    private static func counterStream(key: [UInt8], nonce: [UInt8], data: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard !data.isEmpty else { return [] }
        guard let cipher = EVP_sm4_ctr() else { throw CryptoError(operation: "SM4-CTR", detail: "unavailable") }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        let counter = nonce + [0, 0, 0, 2]
        try check(EVP_EncryptInit_ex2(context, cipher, key, counter, nil), "SM4-CTR init")
        var output = [UInt8](repeating: 0, count: data.count + 16)
        var written: Int32 = 0
        try check(EVP_EncryptUpdate(context, &output, &written, data, Int32(data.count)), "SM4-CTR update")
        return Array(output.prefix(Int(written)))
    }

    /// T = SM4(J0) ⊕ GHASH_H(A ‖ 0ᵛ ‖ C ‖ 0ᵘ ‖ [len(A)]₆₄ ‖ [len(C)]₆₄), H = SM4(0¹²⁸).
    private static func tag(key: [UInt8], nonce: [UInt8], associatedData: [UInt8], ciphertext: [UInt8])
        throws(CryptoError) -> [UInt8]
    {
        let hashKey = Block128(try block(key: key, [UInt8](repeating: 0, count: 16)))
        let mask = try block(key: key, nonce + [0, 0, 0, 1])
        return zip(ghash(hashKey, associatedData, ciphertext).bytes, mask).map { $0 ^ $1 }
    }

    /// GHASH_H over the associated data and the ciphertext, each zero-padded, then their bit lengths.
    static func ghash(_ hashKey: Block128, _ associatedData: [UInt8], _ ciphertext: [UInt8]) -> Block128 {
        var state = Block128(high: 0, low: 0)
        for data in [associatedData, ciphertext] {
            var offset = 0
            while offset < data.count {
                var chunk = Array(data[offset..<min(offset + 16, data.count)])
                chunk += [UInt8](repeating: 0, count: 16 - chunk.count)
                state = (state ^ Block128(chunk)) * hashKey
                offset += 16
            }
        }
        let lengths = Block128(high: UInt64(associatedData.count) * 8, low: UInt64(ciphertext.count) * 8)
        return (state ^ lengths) * hashKey
    }
}

/// An element of GF(2¹²⁸) as GCM writes it (bit 0 is the most significant bit of byte 0).
struct Block128: Equatable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(_ bytes: [UInt8]) {
        high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    static func ^ (lhs: Block128, rhs: Block128) -> Block128 {
        Block128(high: lhs.high ^ rhs.high, low: lhs.low ^ rhs.low)
    }

    /// SP 800-38D Algorithm 1. Branch-free on the data (masks, not ifs), so its time does not
    /// depend on the key or the text.
    static func * (x: Block128, y: Block128) -> Block128 {
        var z = Block128(high: 0, low: 0)
        var v = y
        for index in 0..<128 {
            let word = index < 64 ? x.high : x.low
            let bit = (word >> UInt64(63 - index % 64)) & 1
            let take = 0 &- bit
            z.high ^= v.high & take
            z.low ^= v.low & take
            let carry = v.low & 1
            v.low = (v.low >> 1) | (v.high << 63)
            v.high = (v.high >> 1) ^ (0xE100_0000_0000_0000 & (0 &- carry))
        }
        return z
    }
}
