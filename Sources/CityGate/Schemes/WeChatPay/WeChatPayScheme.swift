import Cryptography
import Foundation
import HTTPCore

/// `wechatpay-v3`: WeChat Pay API v3 notifications (``WeChatPayVerifier``). Keys are platform
/// certificates (chosen by serial); its own section `wechatpay` holds the APIv3 key that decrypts
/// the `resource`. Events are typed by `event_type`, de-duplicated by the notification `id`;
/// acceptance is 204 and a refusal is the `{"code":"FAIL","message":…}` body the platform documents.
public struct WeChatPayScheme: PartnerScheme {
    /// One platform certificate, with the private key only demo partners have (for signing).
    public struct Key: Sendable {
        /// The key id.
        public var id: String
        /// The certificate's serial (upper-case hex).
        public var serial: String
        /// The certificate's public key.
        public var publicKey: AsymmetricKey
        /// The platform's private key, for signing test notifications (demo partners only).
        public var privateKey: AsymmetricKey?
    }

    public static let name = "wechatpay-v3"
    public static let keyFields: Set<String> = ["certificate", "privateKey"]
    public static let sections: Set<String> = ["wechatpay"]

    /// The platform certificates, all accepted (rotation).
    public var keys: [Key]
    /// The APIv3 key (32 bytes).
    public var apiV3Key: [UInt8]

    /// Creates the scheme.
    public init(keys: [Key], apiV3Key: [UInt8]) {
        self.keys = keys
        self.apiV3Key = apiV3Key
    }

    public static func load(_ loader: SchemeLoader) -> Self? {
        let keys = loader.keys { entry -> Key? in
            let certificate = entry.certificate()
            let privateKey = entry.privateKey()
            guard let certificate else {
                entry.report("needs certificate (the platform certificate, PEM)")
                return nil
            }
            return Key(
                id: entry.id, serial: certificate.serialNumber, publicKey: certificate.publicKey,
                privateKey: privateKey)
        }
        var apiV3Key: [UInt8] = []
        if let section = loader.section("wechatpay", allowed: ["apiV3Key"], requiredFor: "apiV3Key") {
            if let text = loader.secret(section, "apiV3Key", at: "$.wechatpay") {
                if text.utf8.count != 32 { loader.report("$.wechatpay.apiV3Key", "must resolve to 32 bytes") }
                apiV3Key = Array(text.utf8)
            } else if section["apiV3Key"] == nil {
                loader.report("$.wechatpay.apiV3Key", "is required")
            }
        }
        return Self(keys: keys, apiV3Key: apiV3Key)
    }

    /// The certificate serial of ``fixture()``'s key.
    public static let fixtureSerial = "5157F09EFDC096DE15EBE81A47057A72"

    public static func fixture() throws -> Self {
        let privateKey = try AsymmetricKey.generateRSA()
        let publicKey = try AsymmetricKey(pem: try privateKey.publicKeyPEM())
        return Self(
            keys: [Key(id: "fixture", serial: fixtureSerial, publicKey: publicKey, privateKey: privateKey)],
            apiV3Key: Array(Encoding.hex(try SecureBytes.random(count: 16)).utf8))
    }

    public func sampleEvent() throws -> [UInt8] {
        let resource = try WeChatPayVerifier.encryptResource(
            Array(#"{"out_trade_no":"T1"}"#.utf8), apiV3Key: apiV3Key, nonce: "fixturenonce",
            associatedData: "transaction")
        let envelope: [String: Any] = [
            "id": "EV-1", "event_type": "citygate.test", "resource_type": "encrypt-resource",
            "resource": [
                "algorithm": "AEAD_AES_256_GCM", "ciphertext": resource, "nonce": "fixturenonce",
                "associated_data": "transaction",
            ],
        ]
        return Array(try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys]))
    }

    public var keyIds: [String] { keys.map(\.id) }

    public func makeVerifier(window: Int64) -> any PartnerVerifier {
        WeChatPayVerifier(
            platformKeys: Dictionary(keys.map { ($0.serial, $0.publicKey) }) { first, _ in first },
            keyIds: Dictionary(keys.map { ($0.serial, $0.id) }) { first, _ in first }, apiV3Key: apiV3Key,
            window: window)
    }

    public func sign(_ request: inout SignedRequest, keyId: String?, now: Int64, nonce: String)
        throws(SigningFailure)
    {
        let key = try key(keyId, in: keys, id: \.id)
        guard let privateKey = key.privateKey else {
            throw SigningFailure("key \(key.id) needs certificate and privateKey to sign (demo partners only)")
        }
        let signature = try SigningFailure.crypto { [request] in
            try WeChatPayVerifier.sign(timestamp: "\(now)", nonce: nonce, body: request.body, privateKey: privateKey)
        }
        request.headers = [
            "Wechatpay-Timestamp": "\(now)", "Wechatpay-Nonce": nonce, "Wechatpay-Serial": key.serial,
            "Wechatpay-Signature": signature, "Content-Type": "application/json",
        ]
    }

    /// WeChat Pay carries payment notifications only: it has no channel to the applicant.
    public func pushProblem(_ endpoint: PushEndpoint) -> String? {
        "wechatpay-v3 has no message channel to the applicant; push through the partner's mini-program (a wechat partner) instead"
    }

    public func readEvent(body: [UInt8], verified: VerifiedRequest) throws(EventPayload.Unreadable) -> EventPayload {
        let envelope = try EventPayload.jsonObject(body)
        guard let type = envelope["event_type"] as? String, !type.isEmpty else {
            throw EventPayload.Unreadable(message: "the notification needs event_type")
        }
        var fields = (try? EventPayload.jsonObject(verified.payload)) ?? [:]
        fields["event_type"] = type
        return EventPayload(type: type, key: envelope["id"] as? String ?? verified.replayKey, fields: fields)
    }

    /// RFC 9457 members plus the `code`/`message` pair WeChat Pay documents for its senders.
    public func refused(_ problem: Problem) -> Response {
        let object: [String: Any] = [
            "code": "FAIL", "message": problem.detail, "type": problem.type, "title": problem.title,
            "status": problem.status, "detail": problem.detail, "requestId": problem.requestId,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: Status(code: problem.status), headers: ["Content-Type": "application/json; charset=utf-8"],
            body: Array(data))
    }
}
