import COpenSSL

/// What a TLS client's certificate says about it, read once per connection for the handlers
/// that decide whose it may be (pins are matched by the gateway, not here).
public struct PeerCertificate: Sendable, Equatable {
    /// SHA-256 of the DER SubjectPublicKeyInfo, base64 (the `pin-sha256` form of RFC 7469 and
    /// `curl --pinnedpubkey sha256//…`).
    public var spkiSHA256: String
    /// The subject, RFC 2253 (`CN=wechat-city,O=Partner`).
    public var subject: String
    /// The issuer, RFC 2253.
    public var issuer: String
    /// Whether the chain verified against the listener's client CAs (including validity dates).
    public var chainVerified: Bool
    /// Why it did not verify (OpenSSL's words), when it did not.
    public var chainProblem: String?
    /// Whether the certificate itself is inside its validity period now.
    public var validNow: Bool

    /// Creates a value (tests, and gateways behind a terminating proxy that forward these).
    public init(
        spkiSHA256: String, subject: String, issuer: String, chainVerified: Bool, chainProblem: String? = nil,
        validNow: Bool
    ) {
        self.spkiSHA256 = spkiSHA256
        self.subject = subject
        self.issuer = issuer
        self.chainVerified = chainVerified
        self.chainProblem = chainProblem
        self.validNow = validNow
    }

    /// Reads the peer certificate of `ssl`; nil when there is none or it cannot be read.
    init?(ssl: OpaquePointer) {
        guard let certificate = SSL_get0_peer_certificate(ssl),
            let key = X509_get0_pubkey(certificate),
            let fingerprint = PeerCertificate.spkiFingerprint(key)
        else { return nil }
        spkiSHA256 = fingerprint
        subject = PeerCertificate.name(X509_get_subject_name(certificate))
        issuer = PeerCertificate.name(X509_get_issuer_name(certificate))
        let verdict = SSL_get_verify_result(ssl)
        chainVerified = verdict == X509_V_OK
        chainProblem = chainVerified ? nil : X509_verify_cert_error_string(verdict).map { String(cString: $0) }
        validNow = citygate_x509_valid_now(certificate) == 1
    }

    /// A name in RFC 2253 form ("" when unreadable).
    static func name(_ name: OpaquePointer?) -> String {
        guard let name else { return "" }
        var buffer = [CChar](repeating: 0, count: 1024)
        let length = citygate_x509_name_rfc2253(name, &buffer, Int32(buffer.count))
        guard length > 0 else { return "" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func spkiFingerprint(_ key: OpaquePointer) -> String? {
        let length = i2d_PUBKEY(key, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_PUBKEY(key, &cursor)
        }
        guard written == length else { return nil }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var digestLength: UInt32 = 0
        guard EVP_Digest(der, der.count, &digest, &digestLength, EVP_sha256(), nil) == 1 else { return nil }
        var text = [UInt8](repeating: 0, count: 64)
        let encoded = EVP_EncodeBlock(&text, digest, Int32(digestLength))
        guard encoded > 0 else { return nil }
        return String(decoding: text.prefix(Int(encoded)), as: UTF8.self)
    }
}
