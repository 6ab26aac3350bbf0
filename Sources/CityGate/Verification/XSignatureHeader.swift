/// The steps the two generic schemes (`hmac-sha256`, `sm2-sm3`) share before their own check:
/// `X-Signature` present and well-formed, its time inside the window, and the keys to try — the
/// one `kid` names (an unknown one is `unknown-key`), else every configured key.
enum XSignatureHeader {
    /// What the shared steps found.
    struct Read<Key> {
        var signature: SignatureHeaders.GenericSignature
        var timestamp: Int64
        var candidates: [Key]
    }

    /// - Parameter format: the header's expected shape, for the malformed-header detail.
    static func read<Key>(
        _ request: SignedRequest, now: Int64, window: Int64, keys: [Key], id: (Key) -> String, format: String
    ) throws(VerificationFailure) -> Read<Key> {
        guard let header = request.headers["x-signature"] else {
            throw VerificationFailure(.missingSignature, "X-Signature is required.")
        }
        guard let parsed = SignatureHeaders.generic(header) else {
            throw VerificationFailure(.malformedSignatureHeader, "X-Signature must be '\(format)'.")
        }
        guard let timestamp = TimestampWindow.parse(parsed.timestamp) else {
            throw VerificationFailure(.malformedSignatureHeader, "t must be Unix seconds.")
        }
        try TimestampWindow.check(timestamp, now: now, window: window)
        var candidates = keys
        if let keyId = parsed.keyId {
            candidates = keys.filter { id($0) == keyId }
            guard !candidates.isEmpty else {
                throw VerificationFailure(.unknownKey, "The key id the signature names is not configured.")
            }
        }
        return Read(signature: parsed, timestamp: timestamp, candidates: candidates)
    }
}
