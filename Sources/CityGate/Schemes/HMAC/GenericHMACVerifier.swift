import Cryptography

/// The generic `hmac-sha256` scheme for platforms without one of their own:
///
/// ```
///   X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>…][,kid=<key id>]
///   signed string: <t> "." <METHOD> "." <path, with "?" and the raw query when present> "." <body>
/// ```
///
/// Several `v1` values allow rotation on the sender's side; `kid`, when present, names the key
/// (an unknown one is `unknown-key`), otherwise every configured key is tried. The signature
/// itself is the replay key: an identical request cannot be replayed inside the window.
public struct GenericHMACVerifier: PartnerVerifier {
    /// Secrets (several during rotation).
    public var secrets: [PartnerSecret]
    /// Allowed clock skew, seconds. Default 300.
    public var window: Int64

    /// Creates a verifier.
    public init(secrets: [PartnerSecret], window: Int64 = 300) {
        self.secrets = secrets
        self.window = window
    }

    /// The signed string.
    public static func canonical(timestamp: String, method: String, path: String, rawQuery: String?, body: [UInt8])
        -> [UInt8]
    {
        let target = rawQuery.map { "\(path)?\($0)" } ?? path
        return Array("\(timestamp).\(method).\(target).".utf8) + body
    }

    public func verify(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest {
        let read = try XSignatureHeader.read(
            request, now: now, window: window, keys: secrets, id: \.id, format: "t=<unix>,v1=<hex>")
        let (parsed, timestamp, candidates) = (read.signature, read.timestamp, read.candidates)
        let signatures = parsed.signatures.compactMap { $0.utf8.count == 64 ? Encoding.hexDecode($0) : nil }
        guard !signatures.isEmpty else {
            throw VerificationFailure(.malformedSignatureHeader, "v1 must be 64 hex digits.")
        }
        let canonical = Self.canonical(
            timestamp: parsed.timestamp, method: request.method, path: request.path, rawQuery: request.rawQuery,
            body: request.body)
        for secret in candidates {
            guard let expected = try? Digest.sha256.hmac(key: secret.bytes, data: canonical) else { continue }
            for signature in signatures where SecureBytes.equal(expected, signature) {
                return VerifiedRequest(
                    keyId: secret.id, replayKey: Encoding.hex(signature), timestamp: timestamp, payload: request.body)
            }
        }
        throw VerificationFailure(
            .signatureMismatch, "No v1 signature matches a configured key.",
            canonicalDigest: (try? Digest.sha256.hash(canonical)).map(Encoding.hex))
    }

    /// The `X-Signature` value for a request.
    public static func sign(
        timestamp: Int64, method: String, path: String, rawQuery: String?, body: [UInt8], secret: PartnerSecret
    ) throws(CryptoError) -> String {
        let mac = try Digest.sha256.hmac(
            key: secret.bytes,
            data: canonical(timestamp: "\(timestamp)", method: method, path: path, rawQuery: rawQuery, body: body))
        return "t=\(timestamp),v1=\(Encoding.hex(mac)),kid=\(secret.id)"
    }
}
