import Cryptography
import HTTPCore

/// `standard-webhooks`: HMAC (`whsec_`) or Ed25519 (`whpk_`) signatures over
/// `{webhook-id}.{webhook-timestamp}.{body}` (``StandardWebhooksVerifier``). Events are JSON with a
/// `type`; the `webhook-id` is the event id; acceptance is 204.
public struct StandardWebhooksScheme: PartnerScheme {
    /// One key: an HMAC secret, an Ed25519 public key, or both; a private key signs `v1a`.
    public struct Key: Sendable {
        /// The key id.
        public var id: String
        /// The HMAC secret (decoded from `whsec_…`).
        public var secret: [UInt8]?
        /// The Ed25519 (or PEM) public key.
        public var publicKey: AsymmetricKey?
        /// The private key, for signing `v1a` test requests (demo partners only).
        public var privateKey: AsymmetricKey?
    }

    public static let name = "standard-webhooks"
    public static let keyFields: Set<String> = ["secret", "publicKey", "privateKey"]

    /// The keys, all accepted (rotation).
    public var keys: [Key]

    /// Creates the scheme with its keys.
    public init(keys: [Key]) {
        self.keys = keys
    }

    public static func load(_ loader: SchemeLoader) -> Self? {
        let keys = loader.keys { entry -> Key? in
            var key = Key(id: entry.id)
            if let text = entry.secret("secret") {
                key.secret = StandardWebhooksVerifier.decodeSecret(text)
                if key.secret == nil { entry.report("secret", "must resolve to whsec_ followed by base64") }
            }
            if let text = entry.secret("publicKey") {
                do {
                    key.publicKey =
                        text.hasPrefix("whpk_")
                        ? try StandardWebhooksVerifier.decodePublicKey(text) : try AsymmetricKey(pem: text)
                } catch {
                    entry.report(
                        "publicKey",
                        "must resolve to a PEM public key or whpk_ key (\((error as? CryptoError)?.operation ?? "unreadable"))"
                    )
                }
            }
            key.privateKey = entry.privateKey()
            guard key.secret != nil || key.publicKey != nil else {
                entry.report("needs secret (whsec_) or publicKey (whpk_)")
                return nil
            }
            return key
        }
        return Self(keys: keys)
    }

    public static func fixture() throws -> Self {
        Self(keys: [Key(id: "fixture", secret: try SecureBytes.random(count: 32))])
    }

    public func sampleEvent() -> [UInt8] { Array(#"{"type":"citygate.test","data":{"n":1}}"#.utf8) }

    public var keyIds: [String] { keys.map(\.id) }

    public func makeVerifier(window: Int64) -> any PartnerVerifier {
        StandardWebhooksVerifier(
            secrets: keys.compactMap { key in key.secret.map { PartnerSecret(id: key.id, bytes: $0) } },
            publicKeys: keys.compactMap { key in key.publicKey.map { (id: key.id, key: $0) } }, window: window)
    }

    public func sign(_ request: inout SignedRequest, keyId: String?, now: Int64, nonce: String)
        throws(SigningFailure)
    {
        let key = try key(keyId, in: keys, id: \.id)
        let id = "msg_" + nonce
        let signature: String
        if let secret = key.secret {
            signature = try SigningFailure.crypto {
                try StandardWebhooksVerifier.sign(id: id, timestamp: now, body: request.body, secret: secret)
            }
        } else if let privateKey = key.privateKey {
            signature = try SigningFailure.crypto {
                try StandardWebhooksVerifier.sign(id: id, timestamp: now, body: request.body, privateKey: privateKey)
            }
        } else {
            throw SigningFailure("key \(key.id) has neither a secret nor a privateKey to sign with")
        }
        request.headers = [
            "webhook-id": id, "webhook-timestamp": "\(now)", "webhook-signature": signature,
            "Content-Type": "application/json",
        ]
    }

    public func readEvent(body: [UInt8], verified: VerifiedRequest) throws(EventPayload.Unreadable) -> EventPayload {
        let object = try EventPayload.jsonObject(verified.payload)
        return EventPayload(type: try EventPayload.type(in: object), key: verified.replayKey, fields: object)
    }
}
