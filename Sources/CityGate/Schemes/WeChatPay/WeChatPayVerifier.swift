import Cryptography
import Foundation

/// WeChat Pay API v3 notifications: RSA PKCS#1 v1.5 SHA-256 over `timestamp\nnonce\nbody\n`, the
/// platform key chosen by `Wechatpay-Serial`; the `resource` is AEAD_AES_256_GCM under the APIv3
/// key (32 ASCII bytes) with its nonce and associated data as UTF-8.
public struct WeChatPayVerifier: PartnerVerifier {
    /// Platform public keys by certificate serial (upper-case hex).
    public var platformKeys: [String: AsymmetricKey]
    /// The configured key id of each serial (reported as ``VerifiedRequest/keyId``); the serial
    /// itself when absent.
    public var keyIds: [String: String]
    /// The APIv3 key.
    public var apiV3Key: [UInt8]
    /// Allowed clock skew; a skew of exactly the window is refused, as the platform documents.
    public var window: Int64

    /// Creates a verifier.
    public init(
        platformKeys: [String: AsymmetricKey], keyIds: [String: String] = [:], apiV3Key: [UInt8], window: Int64 = 300
    ) {
        self.platformKeys = Dictionary(uniqueKeysWithValues: platformKeys.map { ($0.key.uppercased(), $0.value) })
        self.keyIds = Dictionary(uniqueKeysWithValues: keyIds.map { ($0.key.uppercased(), $0.value) })
        self.apiV3Key = apiV3Key
        self.window = window
    }

    /// The string that is signed.
    public static func message(timestamp: String, nonce: String, body: [UInt8]) -> [UInt8] {
        Array("\(timestamp)\n\(nonce)\n".utf8) + body + [UInt8(ascii: "\n")]
    }

    public func verify(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest {
        guard let timestampText = request.headers["wechatpay-timestamp"],
            let nonce = request.headers["wechatpay-nonce"],
            let signatureText = request.headers["wechatpay-signature"], let serial = request.headers["wechatpay-serial"]
        else {
            throw VerificationFailure(
                .missingSignature, "Wechatpay-Timestamp, -Nonce, -Signature and -Serial are all required.")
        }
        guard let timestamp = TimestampWindow.parse(timestampText) else {
            throw VerificationFailure(.malformedSignatureHeader, "Wechatpay-Timestamp must be Unix seconds.")
        }
        guard !nonce.isEmpty else { throw VerificationFailure(.malformedSignatureHeader, "Wechatpay-Nonce is empty.") }
        try TimestampWindow.check(timestamp, now: now, window: window, exclusive: true)
        guard let key = platformKeys[serial.uppercased()] else {
            throw VerificationFailure(
                .unknownKey,
                "No platform certificate with serial \(EchoableText.quoted(serial, or: "like Wechatpay-Serial's")) is configured."
            )
        }
        guard let signature = Encoding.base64Decode(signatureText) else {
            throw VerificationFailure(.malformedSignatureHeader, "Wechatpay-Signature must be base64.")
        }
        let message = Self.message(timestamp: timestampText, nonce: nonce, body: request.body)
        guard key.verify(signature: signature, data: message) else {
            throw VerificationFailure(
                .signatureMismatch,
                "The signature does not verify with the platform certificate that Wechatpay-Serial names.",
                canonicalDigest: (try? Digest.sha256.hash(message)).map(Encoding.hex))
        }
        return VerifiedRequest(
            keyId: keyIds[serial.uppercased()] ?? serial.uppercased(), replayKey: nonce, timestamp: timestamp,
            payload: try decryptResource(request.body))
    }

    /// The decrypted `resource` of a notification body, or the body when it has none.
    public func decryptResource(_ body: [UInt8]) throws(VerificationFailure) -> [UInt8] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw VerificationFailure(.malformedBody, "The notification body must be a JSON object.")
        }
        guard let resource = object["resource"] as? [String: Any] else { return body }
        guard resource["algorithm"] as? String == "AEAD_AES_256_GCM",
            let ciphertextText = resource["ciphertext"] as? String, let nonce = resource["nonce"] as? String,
            let sealed = Encoding.base64Decode(ciphertextText)
        else {
            throw VerificationFailure(.malformedBody, "resource must be AEAD_AES_256_GCM with ciphertext and nonce.")
        }
        let associated = resource["associated_data"] as? String ?? ""
        guard
            let plain = try? Cipher.gcmOpen(
                key: apiV3Key, nonce: Array(nonce.utf8), associatedData: Array(associated.utf8), sealed: sealed)
        else { throw VerificationFailure(.decryptionFailed, "The resource does not decrypt with the APIv3 key.") }
        return plain
    }

    /// The `Wechatpay-Signature` value for a body (for tests and `citygate sign`).
    public static func sign(timestamp: String, nonce: String, body: [UInt8], privateKey: AsymmetricKey)
        throws(CryptoError) -> String
    {
        Encoding.base64(try privateKey.sign(message(timestamp: timestamp, nonce: nonce, body: body)))
    }

    /// Encrypts a resource as the platform does.
    public static func encryptResource(_ plaintext: [UInt8], apiV3Key: [UInt8], nonce: String, associatedData: String)
        throws(CryptoError) -> String
    {
        Encoding.base64(
            try Cipher.gcmSeal(
                key: apiV3Key, nonce: Array(nonce.utf8), associatedData: Array(associatedData.utf8),
                plaintext: plaintext))
    }
}
