import Cryptography

/// Standard Webhooks (https://www.standardwebhooks.com): `{id}.{timestamp}.{body}` signed with
/// HMAC-SHA256 (`v1`) or Ed25519 (`v1a`); `webhook-signature` lists one or more signatures, and
/// any that matches any configured key is accepted (key rotation). Unknown versions are ignored.
public struct StandardWebhooksVerifier: PartnerVerifier {
    /// HMAC secrets (decoded from `whsec_…`).
    public var secrets: [PartnerSecret]
    /// Ed25519 public keys (decoded from `whpk_…`), by key id.
    public var publicKeys: [(id: String, key: AsymmetricKey)]
    /// Allowed clock skew in either direction, seconds. Default 300.
    public var window: Int64

    /// Creates a verifier.
    public init(secrets: [PartnerSecret], publicKeys: [(id: String, key: AsymmetricKey)] = [], window: Int64 = 300) {
        self.secrets = secrets
        self.publicKeys = publicKeys
        self.window = window
    }

    /// Decodes `whsec_<base64>` (the prefix is optional, as in the reference libraries).
    public static func decodeSecret(_ text: String) -> [UInt8]? {
        Encoding.base64Decode(text.hasPrefix("whsec_") ? String(text.dropFirst(6)) : text)
    }

    /// Decodes `whpk_<base64 of the raw 32-byte Ed25519 key>`.
    public static func decodePublicKey(_ text: String) throws(CryptoError) -> AsymmetricKey {
        guard text.hasPrefix("whpk_"), let raw = Encoding.base64Decode(String(text.dropFirst(5))) else {
            throw CryptoError(operation: "whpk key", detail: "expected whpk_ followed by base64")
        }
        return try AsymmetricKey.ed25519(publicKey: raw)
    }

    public func verify(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest {
        guard let id = request.headers["webhook-id"], let timestampText = request.headers["webhook-timestamp"],
            let header = request.headers["webhook-signature"]
        else {
            throw VerificationFailure(
                .missingSignature, "webhook-id, webhook-timestamp and webhook-signature are all required.")
        }
        guard !id.isEmpty else { throw VerificationFailure(.malformedSignatureHeader, "webhook-id is empty.") }
        guard let timestamp = TimestampWindow.parse(timestampText) else {
            throw VerificationFailure(.malformedSignatureHeader, "webhook-timestamp must be Unix seconds.")
        }
        try TimestampWindow.check(timestamp, now: now, window: window)
        guard let tokens = SignatureHeaders.standardWebhooks(header) else {
            throw VerificationFailure(.malformedSignatureHeader, "webhook-signature must list 'v1,<base64>' tokens.")
        }
        let content = Array("\(id).\(timestampText).".utf8) + request.body
        for token in tokens {
            guard let signature = Encoding.base64Decode(token.signature) else { continue }
            switch token.version {
            case "v1":
                for secret in secrets {
                    if let expected = try? Digest.sha256.hmac(key: secret.bytes, data: content),
                        SecureBytes.equal(expected, signature)
                    {
                        return VerifiedRequest(
                            keyId: secret.id, replayKey: id, timestamp: timestamp, payload: request.body)
                    }
                }
            case "v1a":
                for (keyId, key) in publicKeys where key.verify(signature: signature, data: content) {
                    return VerifiedRequest(keyId: keyId, replayKey: id, timestamp: timestamp, payload: request.body)
                }
            default:
                continue
            }
        }
        throw VerificationFailure(
            .signatureMismatch, "No signature in webhook-signature matches a configured key.",
            canonicalDigest: (try? Digest.sha256.hash(content)).map(Encoding.hex))
    }

    /// The `webhook-signature` value for an HMAC (`v1`) signature.
    public static func sign(id: String, timestamp: Int64, body: [UInt8], secret: [UInt8]) throws(CryptoError) -> String
    {
        "v1," + Encoding.base64(try Digest.sha256.hmac(key: secret, data: Array("\(id).\(timestamp).".utf8) + body))
    }

    /// The `webhook-signature` value for an Ed25519 (`v1a`) signature.
    public static func sign(id: String, timestamp: Int64, body: [UInt8], privateKey: AsymmetricKey) throws(CryptoError)
        -> String
    {
        "v1a," + Encoding.base64(try privateKey.sign(Array("\(id).\(timestamp).".utf8) + body))
    }
}
