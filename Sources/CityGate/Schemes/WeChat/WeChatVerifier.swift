import Cryptography

/// WeChat message push (公众号/小程序 消息推送).
///
/// - Plain mode: `signature = sha1hex(sorted(token, timestamp, nonce) joined)` in the query. The
///   body is not covered by the signature; that is the platform's design, so plain mode should
///   only carry what the backend re-checks (the notes in docs/verification.md say so).
/// - Safe mode (`encrypt_type=aes`): `msg_signature` also covers the `<Encrypt>` element, which is
///   AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[0..<16], PKCS#7 to 32-byte
///   blocks, plaintext = random(16) ‖ uint32-BE(length) ‖ message ‖ appid.
/// - URL verification (GET): a valid signature makes `echostr` the exact answer.
/// - With an AES key configured, POSTs must be safe mode: plain mode's signature leaves the body
///   open to replacement, so it would be a downgrade.
public struct WeChatVerifier: PartnerVerifier {
    /// Tokens (several during rotation).
    public var tokens: [(id: String, token: String)]
    /// The 32-byte AES key for safe mode, if configured.
    public var aesKey: [UInt8]?
    /// The appid the decrypted message must end with.
    public var appId: String?
    /// Allowed clock skew, seconds. Default 300.
    public var window: Int64

    /// Creates a verifier.
    public init(
        tokens: [(id: String, token: String)], aesKey: [UInt8]? = nil, appId: String? = nil, window: Int64 = 300
    ) {
        self.tokens = tokens
        self.aesKey = aesKey
        self.appId = appId
        self.window = window
    }

    /// Decodes a 43-character EncodingAESKey (its two trailing bits are not always zero).
    public static func decodeAESKey(_ encodingAESKey: String) -> [UInt8]? {
        guard encodingAESKey.utf8.count == 43,
            let key = Encoding.base64Decode(encodingAESKey + "=", ignoreTrailingBits: true),
            key.count == 32
        else { return nil }
        return key
    }

    /// `sha1hex` of the sorted parts, joined without separator (byte-order sort).
    public static func signature(_ parts: [String]) -> String {
        let joined = parts.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.joined()
        return Encoding.hex((try? Digest.sha1.hash(Array(joined.utf8))) ?? [])
    }

    public func verify(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest {
        let query = request.queryParameters
        guard let timestampText = query["timestamp"], let nonce = query["nonce"] else {
            throw VerificationFailure(.missingSignature, "timestamp and nonce query parameters are required.")
        }
        guard let timestamp = TimestampWindow.parse(timestampText) else {
            throw VerificationFailure(.malformedSignatureHeader, "timestamp must be Unix seconds.")
        }
        guard !nonce.isEmpty else { throw VerificationFailure(.malformedSignatureHeader, "nonce is empty.") }
        try TimestampWindow.check(timestamp, now: now, window: window)
        let replayKey = "\(timestampText):\(nonce)"

        if query["encrypt_type"] == "aes" || query["msg_signature"] != nil, request.method == "POST" {
            guard let messageSignature = query["msg_signature"] else {
                throw VerificationFailure(.missingSignature, "msg_signature is required in safe mode.")
            }
            guard let xml = String(validating: request.body, as: UTF8.self),
                let encrypted = SignatureHeaders.xmlElement("Encrypt", in: xml)
            else { throw VerificationFailure(.malformedBody, "The safe-mode body must carry an <Encrypt> element.") }
            let keyId = try matchingToken(
                messageSignature, extra: [encrypted], timestampText: timestampText, nonce: nonce)
            let message = try decrypt(encrypted)
            return VerifiedRequest(keyId: keyId, replayKey: replayKey, timestamp: timestamp, payload: message)
        }

        if aesKey != nil, request.method == "POST" {
            // A plain-mode signature does not cover the body: accepting one when safe mode is
            // configured would let anyone who strips encrypt_type and msg_signature replace it.
            throw VerificationFailure(
                .missingSignature, "msg_signature is required: this partner is configured for safe mode.")
        }
        guard let signature = query["signature"] else {
            throw VerificationFailure(.missingSignature, "signature is required.")
        }
        let keyId = try matchingToken(signature, extra: [], timestampText: timestampText, nonce: nonce)
        if request.method == "GET" {
            guard let echo = query["echostr"] else {
                throw VerificationFailure(.malformedBody, "URL verification needs echostr.")
            }
            return VerifiedRequest(keyId: keyId, replayKey: replayKey, timestamp: timestamp, payload: [], echo: echo)
        }
        return VerifiedRequest(keyId: keyId, replayKey: replayKey, timestamp: timestamp, payload: request.body)
    }

    private func matchingToken(_ signature: String, extra: [String], timestampText: String, nonce: String)
        throws(VerificationFailure) -> String
    {
        guard signature.utf8.count == 40, let given = Encoding.hexDecode(signature) else {
            throw VerificationFailure(.malformedSignatureHeader, "The signature must be 40 hex digits (SHA-1).")
        }
        for (id, token) in tokens {
            let expected = Encoding.hexDecode(Self.signature([token, timestampText, nonce] + extra)) ?? []
            if SecureBytes.equal(expected, given) { return id }
        }
        let canonical = [timestampText, nonce] + extra
        throw VerificationFailure(
            .signatureMismatch, "The signature does not match any configured token.",
            canonicalDigest: (try? Digest.sha256.hash(Array(canonical.joined(separator: "\n").utf8))).map(Encoding.hex))
    }

    /// Decrypts an `<Encrypt>` value and checks its appid.
    public func decrypt(_ encrypted: String) throws(VerificationFailure) -> [UInt8] {
        guard let aesKey else {
            throw VerificationFailure(.decryptionFailed, "Safe mode is not configured for this partner.")
        }
        guard let ciphertext = Encoding.base64Decode(encrypted), !ciphertext.isEmpty, ciphertext.count % 32 == 0 else {
            throw VerificationFailure(.malformedBody, "<Encrypt> must be base64 of whole 32-byte blocks.")
        }
        guard
            let padded = try? Cipher.aes256CBC(
                encrypt: false, key: aesKey, iv: Array(aesKey.prefix(16)), data: ciphertext),
            let pad = padded.last, pad >= 1, pad <= 32, padded.suffix(Int(pad)).allSatisfy({ $0 == pad })
        else { throw VerificationFailure(.decryptionFailed, "The message does not decrypt with the configured key.") }
        let plain = Array(padded.dropLast(Int(pad)))
        guard plain.count >= 20 else {
            throw VerificationFailure(.decryptionFailed, "The decrypted message is too short.")
        }
        let length = Int(plain[16]) << 24 | Int(plain[17]) << 16 | Int(plain[18]) << 8 | Int(plain[19])
        guard length <= plain.count - 20 else {
            throw VerificationFailure(.decryptionFailed, "The decrypted length is inconsistent.")
        }
        let message = Array(plain[20..<(20 + length)])
        let trailingAppId = String(decoding: plain[(20 + length)...], as: UTF8.self)
        if let appId, trailingAppId != appId {
            throw VerificationFailure(.decryptionFailed, "The message was encrypted for another appid.")
        }
        return message
    }

    /// Encrypts a message as safe mode does (for replies and for `citygate sign`).
    public static func encrypt(_ message: [UInt8], aesKey: [UInt8], appId: String) throws(CryptoError) -> String {
        let length = UInt32(message.count)
        var plain = try SecureBytes.random(count: 16)
        plain += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
        plain += message + Array(appId.utf8)
        let pad = 32 - plain.count % 32
        plain += [UInt8](repeating: UInt8(pad), count: pad)
        return Encoding.base64(
            try Cipher.aes256CBC(encrypt: true, key: aesKey, iv: Array(aesKey.prefix(16)), data: plain))
    }
}
