import Cryptography
import Foundation

/// One partner platform (`partners/<id>.json`): its verification scheme and keys, clock-skew
/// window, the cities it may call, and whether failed signatures carry a debug digest.
///
/// Keys are references (`env:NAME`, `file:path`), resolved when the file is loaded so a missing
/// secret is a load error, not a failure at the first request.
public struct PartnerConfiguration: Sendable {
    /// The verification schemes (DESIGN §6).
    public enum Scheme: String, Sendable, CaseIterable {
        case standardWebhooks = "standard-webhooks"
        case wechat
        case wechatPayV3 = "wechatpay-v3"
        case alipayRSA2 = "alipay-rsa2"
        case hmacSHA256 = "hmac-sha256"
    }

    /// One key entry, resolved. Which members are set depends on the scheme.
    public struct Key: Sendable {
        /// The key id.
        public var id: String
        /// HMAC secret bytes (standard-webhooks `whsec_`, hmac-sha256).
        public var secret: [UInt8]?
        /// WeChat token.
        public var token: String?
        /// Public key (standard-webhooks `whpk_`, alipay PEM, wechatpay certificate's key).
        public var publicKey: AsymmetricKey?
        /// WeChat Pay certificate serial.
        public var serial: String?
        /// Private key for signing test requests (demo partners only).
        public var privateKey: AsymmetricKey?
    }

    /// The partner id (the file name without `.json`).
    public var id: String
    /// A display name.
    public var name: String
    /// The scheme.
    public var scheme: Scheme
    /// Keys, all accepted (rotation).
    public var keys: [Key]
    /// Allowed clock skew in seconds (default 300).
    public var clockSkewSeconds: Int
    /// City codes this partner may call.
    public var cities: [String]
    /// Whether signature failures include the SHA-256 of the canonical string.
    public var debugSignatures: Bool
    /// WeChat safe mode: appid and AES key.
    public var wechatAppId: String?
    /// WeChat safe mode AES key (decoded).
    public var wechatAESKey: [UInt8]?
    /// WeChat Pay APIv3 key.
    public var apiV3Key: [UInt8]?
    /// OAuth clients of this partner (`clients[]`).
    public var clients: [OAuthClient] = []

    /// The verifier for this partner's scheme.
    public func makeVerifier() -> any PartnerVerifier {
        let window = Int64(clockSkewSeconds)
        let secrets = keys.compactMap { key in key.secret.map { PartnerSecret(id: key.id, bytes: $0) } }
        let publicKeys = keys.compactMap { key in key.publicKey.map { (id: key.id, key: $0) } }
        switch scheme {
        case .standardWebhooks:
            return StandardWebhooksVerifier(secrets: secrets, publicKeys: publicKeys, window: window)
        case .wechat:
            return WeChatVerifier(
                tokens: keys.compactMap { key in key.token.map { (id: key.id, token: $0) } }, aesKey: wechatAESKey,
                appId: wechatAppId, window: window)
        case .wechatPayV3:
            var bySerial: [String: AsymmetricKey] = [:]
            var keyIds: [String: String] = [:]
            for key in keys {
                guard let serial = key.serial, let publicKey = key.publicKey else { continue }
                bySerial[serial] = publicKey
                keyIds[serial] = key.id
            }
            return WeChatPayVerifier(platformKeys: bySerial, keyIds: keyIds, apiV3Key: apiV3Key ?? [], window: window)
        case .alipayRSA2:
            return AlipayVerifier(publicKeys: publicKeys)
        case .hmacSHA256:
            return GenericHMACVerifier(secrets: secrets, window: window)
        }
    }
}
