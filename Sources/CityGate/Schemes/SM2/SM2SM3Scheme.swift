import Cryptography
import HTTPCore

/// `sm2-sm3` (``SM2SM3Verifier``): the generic signed-request scheme with SM2-with-SM3 signatures,
/// for partners assessed under GB/T 39786 (密评). Keys are SM2 public keys (PEM), each with the
/// signer id its Z is computed with (`userId`, default `1234567812345678`). Events are JSON with a
/// `type` and, optionally, an `id`, as for `hmac-sha256`; acceptance is 204.
public struct SM2SM3Scheme: PartnerScheme {
    /// One partner key.
    public struct Key: Sendable {
        public var id: String
        public var publicKey: AsymmetricKey
        /// Demo partners only: signs test requests and pushes.
        public var privateKey: AsymmetricKey?
        public var userId: [UInt8]

        /// Creates a key.
        public init(
            id: String, publicKey: AsymmetricKey, privateKey: AsymmetricKey? = nil,
            userId: [UInt8] = AsymmetricKey.defaultSM2UserId
        ) {
            self.id = id
            self.publicKey = publicKey
            self.privateKey = privateKey
            self.userId = userId
        }
    }

    public static let name = "sm2-sm3"
    public static let keyFields: Set<String> = ["publicKey", "privateKey", "userId"]

    /// The keys, all accepted (rotation).
    public var keys: [Key]

    /// Creates the scheme.
    public init(keys: [Key]) {
        self.keys = keys
    }

    public static func load(_ loader: SchemeLoader) -> Self? {
        Self(
            keys: loader.keys { entry -> Key? in
                let userId = entry.text("userId") ?? "1234567812345678"
                if userId.isEmpty || userId.utf8.count > 8191 {
                    entry.report("userId", "must be 1 to 8191 bytes (GM/T 0009 ENTL is 16 bits of bit length)")
                }
                guard let publicKey = entry.publicKey(what: "an SM2 public key (PEM)") else {
                    if entry.object["publicKey"] == nil { entry.report("needs publicKey (the partner's SM2 key, PEM)") }
                    return nil
                }
                guard publicKey.algorithm == .sm2 else {
                    entry.report("publicKey", "must be an SM2 key")
                    return nil
                }
                let privateKey = entry.privateKey()
                if let privateKey, privateKey.algorithm != .sm2 {
                    entry.report("privateKey", "must be an SM2 key")
                }
                return Key(id: entry.id, publicKey: publicKey, privateKey: privateKey, userId: Array(userId.utf8))
            })
    }

    public static func fixture() throws -> Self {
        let privateKey = try AsymmetricKey.generateSM2()
        return Self(
            keys: [
                Key(
                    id: "fixture", publicKey: try AsymmetricKey(pem: try privateKey.publicKeyPEM()),
                    privateKey: privateKey, userId: AsymmetricKey.defaultSM2UserId)
            ])
    }

    public func sampleEvent() -> [UInt8] { Array(#"{"id":"evt_1","type":"citygate.test"}"#.utf8) }

    public var keyIds: [String] { keys.map(\.id) }

    public func makeVerifier(window: Int64) -> any PartnerVerifier {
        SM2SM3Verifier(
            keys: keys.map { SM2SM3Verifier.Key(id: $0.id, publicKey: $0.publicKey, userId: $0.userId) },
            window: window)
    }

    public func sign(_ request: inout SignedRequest, keyId: String?, now: Int64, nonce: String)
        throws(SigningFailure)
    {
        let key = try key(keyId, in: keys, id: \.id)
        guard let privateKey = key.privateKey else {
            throw SigningFailure("key \(key.id) needs privateKey to sign (demo partners only)")
        }
        let header = try SigningFailure.crypto { [request] in
            try SM2SM3Verifier.sign(
                timestamp: now, method: request.method, path: request.path, rawQuery: request.rawQuery,
                body: request.body, keyId: key.id, privateKey: privateKey, userId: key.userId)
        }
        request.headers = ["X-Signature": header, "Content-Type": "application/json"]
    }

    /// The partner's keys verify what it sends; the gateway has no SM2 key of its own to sign
    /// pushes with yet.
    public func pushProblem(_ endpoint: PushEndpoint) -> String? {
        "sm2-sm3 partners cannot be pushed to yet: the gateway has no SM2 signing key of its own"
    }

    public func readEvent(body: [UInt8], verified: VerifiedRequest) throws(EventPayload.Unreadable) -> EventPayload {
        let object = try EventPayload.jsonObject(verified.payload)
        return EventPayload(
            type: try EventPayload.type(in: object), key: object["id"] as? String ?? verified.replayKey,
            fields: object)
    }
}
