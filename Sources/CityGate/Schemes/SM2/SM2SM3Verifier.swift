import Cryptography

/// `sm2-sm3`, the generic scheme for platforms held to China's commercial cryptography (商用密码,
/// GB/T 39786): the `hmac-sha256` scheme's signed string, signed with SM2-with-SM3 (GM/T 0009)
/// instead of an HMAC.
///
/// ```
///   X-Signature: t=<unix seconds>,v1=<base64 DER SM2 signature>[,v1=…][,kid=<key id>]
///   signed string: <t> "." <METHOD> "." <path, with "?" and the raw query when present> "." <body>
///   Z uses the key's user id (default 1234567812345678)
/// ```
///
/// The signature bytes are the replay key. OpenSSL accepts only the canonical DER of a
/// signature, so one signature has one spelling.
public struct SM2SM3Verifier: PartnerVerifier {
    /// One partner public key and the signer id its Z is computed with.
    public struct Key: Sendable {
        public var id: String
        public var publicKey: AsymmetricKey
        public var userId: [UInt8]

        /// Creates a key.
        public init(id: String, publicKey: AsymmetricKey, userId: [UInt8] = AsymmetricKey.defaultSM2UserId) {
            self.id = id
            self.publicKey = publicKey
            self.userId = userId
        }
    }

    /// The keys (several during rotation).
    public var keys: [Key]
    /// Allowed clock skew, seconds.
    public var window: Int64

    /// Creates a verifier.
    public init(keys: [Key], window: Int64 = 300) {
        self.keys = keys
        self.window = window
    }

    public func verify(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest {
        let read = try XSignatureHeader.read(
            request, now: now, window: window, keys: keys, id: \.id, format: "t=<unix>,v1=<base64 DER SM2 signature>")
        let (parsed, timestamp, candidates) = (read.signature, read.timestamp, read.candidates)
        // An SM2 DER signature is 70 to 72 bytes; anything else cannot be one.
        let signatures = parsed.signatures.compactMap { text -> [UInt8]? in
            guard let bytes = Encoding.base64Decode(text), (8...80).contains(bytes.count) else { return nil }
            return bytes
        }
        guard !signatures.isEmpty else {
            throw VerificationFailure(.malformedSignatureHeader, "v1 must be a base64 DER SM2 signature.")
        }
        let canonical = GenericHMACVerifier.canonical(
            timestamp: parsed.timestamp, method: request.method, path: request.path, rawQuery: request.rawQuery,
            body: request.body)
        for key in candidates {
            for signature in signatures
            where key.publicKey.sm2Verify(signature: signature, data: canonical, userId: key.userId) {
                return VerifiedRequest(
                    keyId: key.id, replayKey: Encoding.hex(signature), timestamp: timestamp, payload: request.body)
            }
        }
        throw VerificationFailure(
            .signatureMismatch, "No v1 signature verifies with a configured SM2 key.",
            canonicalDigest: (try? Digest.sm3.hash(canonical)).map(Encoding.hex))
    }

    /// The `X-Signature` value for a request.
    public static func sign(
        timestamp: Int64, method: String, path: String, rawQuery: String?, body: [UInt8], keyId: String,
        privateKey: AsymmetricKey, userId: [UInt8] = AsymmetricKey.defaultSM2UserId
    ) throws(CryptoError) -> String {
        let signature = try privateKey.sm2Sign(
            GenericHMACVerifier.canonical(
                timestamp: "\(timestamp)", method: method, path: path, rawQuery: rawQuery, body: body),
            userId: userId)
        return "t=\(timestamp),v1=\(Encoding.base64(signature)),kid=\(keyId)"
    }
}
