import Cryptography
import HTTPCore

/// `hmac-sha256`, CityGate's generic scheme for platforms without one of their own
/// (``GenericHMACVerifier``). Events are JSON with a `type` and, optionally, an `id` (else the
/// signature de-duplicates); acceptance is 204.
public struct GenericHMACScheme: PartnerScheme {
    public static let name = "hmac-sha256"
    public static let keyFields: Set<String> = ["secret"]

    /// The secrets, all accepted (rotation).
    public var secrets: [PartnerSecret]

    /// Creates the scheme with its secrets.
    public init(secrets: [PartnerSecret]) {
        self.secrets = secrets
    }

    public static func load(_ loader: SchemeLoader) -> Self? {
        Self(
            secrets: loader.keys { entry in
                guard let text = entry.secret("secret") else {
                    entry.report("needs secret")
                    return nil
                }
                return PartnerSecret(id: entry.id, bytes: Array(text.utf8))
            })
    }

    public static func fixture() throws -> Self {
        Self(secrets: [PartnerSecret(id: "fixture", bytes: try SecureBytes.random(count: 32))])
    }

    public func sampleEvent() -> [UInt8] { Array(#"{"id":"evt_1","type":"citygate.test"}"#.utf8) }

    public var keyIds: [String] { secrets.map(\.id) }

    public func makeVerifier(window: Int64) -> any PartnerVerifier {
        GenericHMACVerifier(secrets: secrets, window: window)
    }

    public func sign(_ request: inout SignedRequest, keyId: String?, now: Int64, nonce: String)
        throws(SigningFailure)
    {
        let secret = try key(keyId, in: secrets, id: \.id)
        let header = try SigningFailure.crypto { [request] in
            try GenericHMACVerifier.sign(
                timestamp: now, method: request.method, path: request.path, rawQuery: request.rawQuery,
                body: request.body, secret: secret)
        }
        request.headers = ["X-Signature": header, "Content-Type": "application/json"]
    }

    public func readEvent(body: [UInt8], verified: VerifiedRequest) throws(EventPayload.Unreadable) -> EventPayload {
        let object = try EventPayload.jsonObject(verified.payload)
        return EventPayload(
            type: try EventPayload.type(in: object), key: object["id"] as? String ?? verified.replayKey,
            fields: object)
    }
}
