import COpenSSL

/// The two encodings of an (r, s) signature: DER (`SEQUENCE { r INTEGER, s INTEGER }`, what
/// OpenSSL and GM/T 0009 produce) and fixed-width `r ‖ s` (what JWS uses for elliptic-curve
/// signatures, RFC 7518 §3.4, and what gmssl works on).
public enum ECSignatureForm {
    /// DER to `r ‖ s`, each `width` bytes (32 for SM2 and P-256); nil when not a valid DER pair
    /// or a value is wider.
    public static func raw(fromDER der: [UInt8], width: Int = 32) -> [UInt8]? {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let signature = parsed else {
            ERR_clear_error()
            return nil
        }
        defer { ECDSA_SIG_free(signature) }
        // The DER must be exactly one signature, nothing after it.
        guard i2d_ECDSA_SIG(signature, nil) == Int32(der.count) else { return nil }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(signature, &r, &s)
        guard let r, let s else { return nil }
        var output = [UInt8](repeating: 0, count: width * 2)
        let written = output.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return BN_bn2binpad(r, base, Int32(width)) == Int32(width)
                && BN_bn2binpad(s, base + width, Int32(width)) == Int32(width)
        }
        return written ? output : nil
    }

    /// `r ‖ s` (two halves of equal width) to DER; nil for an odd or empty input.
    public static func der(fromRaw raw: [UInt8]) -> [UInt8]? {
        guard !raw.isEmpty, raw.count % 2 == 0 else { return nil }
        let width = raw.count / 2
        guard let signature = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(signature) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(width), nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress.map { $0 + width }, Int32(width), nil) }
        guard let r, let s else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        // set0: the signature owns both numbers from here.
        guard ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else { return nil }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        return written == length ? output : nil
    }
}

extension AsymmetricKey {
    /// The public point of an elliptic-curve key (SM2) uncompressed: `04 ‖ x ‖ y`.
    public func ecPublicPoint() throws(CryptoError) -> [UInt8] {
        var length = 0
        try check(
            EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nil, 0, &length),
            "public point length")
        var point = [UInt8](repeating: 0, count: length)
        try check(
            EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, &point, length, &length),
            "public point")
        return Array(point.prefix(length))
    }
}
