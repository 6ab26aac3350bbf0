import COpenSSL

/// An asymmetric key (RSA, Ed25519 or SM2) held by OpenSSL, public or with its private half.
public final class AsymmetricKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is never mutated after creation, and OpenSSL allows concurrent
    // use of a const key for signing and verifying from several threads.

    /// The algorithm.
    public enum Algorithm: Sendable, Equatable {
        case rsa
        case ed25519
        /// SM2 (GB/T 32918, 国密): signatures are SM2-with-SM3 over Z (GM/T 0009).
        case sm2
    }

    /// The GM/T 0009 default signer id, `1234567812345678`.
    public static let defaultSM2UserId: [UInt8] = Array("1234567812345678".utf8)

    let key: OpaquePointer
    /// The algorithm of this key.
    public let algorithm: Algorithm
    /// Whether the private half is present.
    public let isPrivate: Bool

    init(taking key: OpaquePointer, isPrivate: Bool) throws(CryptoError) {
        self.key = key
        self.isPrivate = isPrivate
        // Provider-native SM2 keys report the EC base id when generated and none when decoded:
        // only the provider's name says what they are. An EC key on another curve stays refused.
        if EVP_PKEY_is_a(key, "SM2") == 1 {
            algorithm = .sm2
            return
        }
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA: algorithm = .rsa
        case EVP_PKEY_ED25519: algorithm = .ed25519
        default:
            EVP_PKEY_free(key)
            throw CryptoError(operation: "load key", detail: "only RSA, Ed25519 and SM2 keys are supported")
        }
    }

    deinit { EVP_PKEY_free(key) }

    /// Loads a PEM key: PKCS#8 or PKCS#1 private keys, SPKI or PKCS#1 public keys.
    public convenience init(pem: String) throws(CryptoError) {
        let isPrivate = pem.contains("PRIVATE KEY-----")
        var key: OpaquePointer?
        let selection = isPrivate ? citygate_selection_keypair : citygate_selection_public_key
        guard let decoder = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", nil, nil, Int32(selection), nil, nil) else {
            throw CryptoError("OSSL_DECODER_CTX_new_for_pkey")
        }
        defer { OSSL_DECODER_CTX_free(decoder) }
        var bytes = Array(pem.utf8)
        var length = bytes.count
        let ok = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var pointer: UnsafePointer<UInt8>? = UnsafePointer(buffer.baseAddress)
            return OSSL_DECODER_from_data(decoder, &pointer, &length)
        }
        guard ok == 1, let loaded = key else { throw CryptoError("decode PEM key") }
        try self.init(taking: loaded, isPrivate: isPrivate)
    }

    /// A new RSA key pair.
    public static func generateRSA(bits: Int = 2048) throws(CryptoError) -> AsymmetricKey {
        guard let key = citygate_rsa_generate(UInt32(bits)) else { throw CryptoError("RSA key generation") }
        return try AsymmetricKey(taking: key, isPrivate: true)
    }

    /// A new Ed25519 key pair.
    public static func generateEd25519() throws(CryptoError) -> AsymmetricKey {
        guard let key = citygate_ed25519_generate() else { throw CryptoError("Ed25519 key generation") }
        return try AsymmetricKey(taking: key, isPrivate: true)
    }

    /// An Ed25519 public key from its raw 32 bytes.
    public static func ed25519(publicKey raw: [UInt8]) throws(CryptoError) -> AsymmetricKey {
        guard raw.count == 32 else { throw CryptoError(operation: "Ed25519 public key", detail: "must be 32 bytes") }
        guard let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            throw CryptoError("Ed25519 public key")
        }
        return try AsymmetricKey(taking: key, isPrivate: false)
    }

    /// An Ed25519 private key from its raw 32-byte seed.
    public static func ed25519(privateKey raw: [UInt8]) throws(CryptoError) -> AsymmetricKey {
        guard raw.count == 32 else { throw CryptoError(operation: "Ed25519 private key", detail: "must be 32 bytes") }
        guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            throw CryptoError("Ed25519 private key")
        }
        return try AsymmetricKey(taking: key, isPrivate: true)
    }

    /// The raw 32-byte Ed25519 public key.
    public func rawPublicKey() throws(CryptoError) -> [UInt8] {
        var length = 32
        var raw = [UInt8](repeating: 0, count: 32)
        try check(EVP_PKEY_get_raw_public_key(key, &raw, &length), "raw public key")
        return Array(raw.prefix(length))
    }

    /// The public half as SPKI PEM.
    public func publicKeyPEM() throws(CryptoError) -> String {
        try writePEM { PEM_write_bio_PUBKEY($0, key) }
    }

    /// The private key as PKCS#8 PEM (for tests and for generating demo keys).
    public func privateKeyPEM() throws(CryptoError) -> String {
        guard isPrivate else { throw CryptoError(operation: "private key PEM", detail: "this is a public key") }
        return try writePEM { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    private func writePEM(_ write: (OpaquePointer) -> Int32) throws(CryptoError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError("BIO_new") }
        defer { BIO_free(bio) }
        try check(write(bio), "write PEM")
        var data: UnsafeMutablePointer<CChar>?
        let length = citygate_bio_mem_data(bio, &data)
        guard let data, length > 0 else { throw CryptoError("read PEM") }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    /// A new SM2 key pair.
    public static func generateSM2() throws(CryptoError) -> AsymmetricKey {
        guard let key = citygate_sm2_generate() else { throw CryptoError("SM2 key generation") }
        return try AsymmetricKey(taking: key, isPrivate: true)
    }

    /// An SM2-with-SM3 signature (GM/T 0009: SM3 over Z(userId, key) and the data), DER-encoded
    /// (`SEQUENCE { r INTEGER, s INTEGER }`, GM/T 0009 §7).
    public func sm2Sign(_ data: [UInt8], userId: [UInt8] = AsymmetricKey.defaultSM2UserId) throws(CryptoError)
        -> [UInt8]
    {
        guard algorithm == .sm2 else { throw CryptoError(operation: "SM2 sign", detail: "not an SM2 key") }
        guard isPrivate else { throw CryptoError(operation: "SM2 sign", detail: "a private key is required") }
        guard let context = EVP_MD_CTX_new() else { throw CryptoError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        try check(citygate_sm2_digest_init(context, key, userId, userId.count, 1), "SM2 sign init")
        var length = 0
        try check(EVP_DigestSign(context, nil, &length, data, data.count), "SM2 sign length")
        var signature = [UInt8](repeating: 0, count: length)
        try check(EVP_DigestSign(context, &signature, &length, data, data.count), "SM2 sign")
        return Array(signature.prefix(length))
    }

    /// Verifies an SM2-with-SM3 DER signature made with `userId`. A wrong one is `false`.
    public func sm2Verify(signature: [UInt8], data: [UInt8], userId: [UInt8] = AsymmetricKey.defaultSM2UserId)
        -> Bool
    {
        guard algorithm == .sm2, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard citygate_sm2_digest_init(context, key, userId, userId.count, 0) == 1 else {
            _ = CryptoError("drain")
            return false
        }
        let result = EVP_DigestVerify(context, signature, signature.count, data, data.count)
        if result != 1 { _ = CryptoError("drain") }
        return result == 1
    }

    /// Signs: RSA PKCS#1 v1.5 with `digest` (SHA-256 by default), pure Ed25519 (no digest), or
    /// SM2-with-SM3 with the default user id (`digest` ignored).
    public func sign(_ data: [UInt8], digest: Digest = .sha256) throws(CryptoError) -> [UInt8] {
        if algorithm == .sm2 { return try sm2Sign(data) }
        guard isPrivate else { throw CryptoError(operation: "sign", detail: "a private key is required") }
        guard let context = EVP_MD_CTX_new() else { throw CryptoError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        let digestName: String? = algorithm == .rsa ? digest.rawValue : nil
        try check(EVP_DigestSignInit_ex(context, nil, digestName, nil, nil, key, nil), "sign init")
        var length = 0
        try check(EVP_DigestSign(context, nil, &length, data, data.count), "sign length")
        var signature = [UInt8](repeating: 0, count: length)
        try check(EVP_DigestSign(context, &signature, &length, data, data.count), "sign")
        return Array(signature.prefix(length))
    }

    /// Verifies a signature made by ``sign(_:digest:)``'s scheme. A wrong signature is `false`,
    /// not an error.
    public func verify(signature: [UInt8], data: [UInt8], digest: Digest = .sha256) -> Bool {
        if algorithm == .sm2 { return sm2Verify(signature: signature, data: data) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        let digestName: String? = algorithm == .rsa ? digest.rawValue : nil
        guard EVP_DigestVerifyInit_ex(context, nil, digestName, nil, nil, key, nil) == 1 else {
            _ = CryptoError("drain")
            return false
        }
        let result = EVP_DigestVerify(context, signature, signature.count, data, data.count)
        if result != 1 { _ = CryptoError("drain") }  // leave no stale errors on this thread's queue
        return result == 1
    }
}

/// An X.509 certificate: its public key and serial number (WeChat Pay picks keys by serial).
public struct Certificate: Sendable {
    /// The subject public key.
    public let publicKey: AsymmetricKey
    /// The serial number in upper-case hex, as WeChat Pay's `Wechatpay-Serial` carries it.
    public let serialNumber: String

    /// Loads a PEM certificate.
    public init(pem: String) throws(CryptoError) {
        // A memory BIO that owns a copy of the text. BIO_new_mem_buf would keep a pointer to
        // the Swift array's storage, valid only inside withUnsafeBytes: PEM_read_bio_X509 then
        // read freed memory (start-up and reloads failed intermittently, depending on where the
        // allocator put things).
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError("BIO_new") }
        defer { BIO_free(bio) }
        let bytes = Array(pem.utf8)
        guard bytes.count <= Int(Int32.max) else {
            throw CryptoError(operation: "read X.509 PEM", detail: "the certificate text is too large")
        }
        let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) else { throw CryptoError("BIO_write") }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else { throw CryptoError("read X.509 PEM") }
        defer { X509_free(certificate) }
        guard let key = X509_get_pubkey(certificate) else { throw CryptoError("certificate public key") }
        publicKey = try AsymmetricKey(taking: key, isPrivate: false)
        guard let serial = X509_get0_serialNumber(certificate), let number = ASN1_INTEGER_to_BN(serial, nil) else {
            throw CryptoError("certificate serial")
        }
        defer { BN_free(number) }
        guard let hex = BN_bn2hex(number) else { throw CryptoError("serial to hex") }
        defer { citygate_openssl_free(hex) }
        serialNumber = String(cString: hex)
    }
}
