import Cryptography
import Foundation

/// `gateway.json` `tokens`: how the gateway issues OAuth tokens. Every field has a default, so a
/// tree without `tokens` still issues tokens (with a signing key and subject salt generated once
/// in the data directory).
public struct TokenSettings: Sendable {
    /// One configured signing key: Ed25519 (`EdDSA`) or SM2 (the private `SM2SM3`).
    public struct SigningKey: Sendable {
        /// The `kid`.
        public var id: String
        /// The private key.
        public var key: AsymmetricKey

        /// The JWS algorithm the key signs with.
        public var algorithm: JSONWebToken.Algorithm { key.algorithm == .sm2 ? .sm2sm3 : .edDSA }
    }

    /// `iss` of issued tokens and the base of the metadata URLs; nil: `http://` + the public
    /// listener's bound address.
    public var issuer: String?
    /// Access token lifetime (default 600 s).
    public var accessTokenSeconds: Int = 600
    /// Refresh token lifetime (default 30 days).
    public var refreshTokenSeconds: Int = 30 * 86_400
    /// The longest lifetime (`exp − iat`) a partner's assertion may have (default 300 s).
    public var assertionMaxSeconds: Int = 300
    /// Signing keys, the first one signing and all of them verifying (rotation); empty: the
    /// gateway's generated key.
    public var signingKeys: [SigningKey] = []
    /// The salt for citizen subject hashes; nil: the generated one. Several instances must share it.
    public var subjectSalt: [UInt8]?

    static let fields: Set<String> = [
        "issuer", "accessTokenSeconds", "refreshTokenSeconds", "assertionMaxSeconds", "signingKeys", "subjectSalt",
    ]

    /// Reads the `tokens` object of gateway.json.
    static func load(
        _ object: [String: Any], reader: ConfigReader,
        secret: (_ object: [String: Any], _ field: String, _ path: String) -> String?
    ) -> TokenSettings {
        var settings = TokenSettings()
        reader.checkFields(object, at: "$.tokens", allowed: fields)
        if let issuer = reader.string(object, "issuer", at: "$.tokens", required: false) {
            if let url = URL(string: issuer), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
                url.query == nil, url.fragment == nil, !issuer.hasSuffix("/")
            {
                settings.issuer = issuer
            } else {
                reader.report("$.tokens.issuer", "must be an http(s) URL without query, fragment or trailing slash")
            }
        }
        settings.accessTokenSeconds =
            reader.integer(object, "accessTokenSeconds", at: "$.tokens", range: 60...86_400) ?? 600
        settings.refreshTokenSeconds =
            reader.integer(object, "refreshTokenSeconds", at: "$.tokens", range: 300...31_536_000) ?? 30 * 86_400
        settings.assertionMaxSeconds =
            reader.integer(object, "assertionMaxSeconds", at: "$.tokens", range: 30...3_600) ?? 300
        for (index, item) in (reader.array(object, "signingKeys", at: "$.tokens", required: false) ?? []).enumerated() {
            let path = "$.tokens.signingKeys[\(index)]"
            guard let keyObject = reader.object(item, at: path) else { continue }
            reader.checkFields(keyObject, at: path, allowed: ["id", "privateKey"])
            let id = reader.string(keyObject, "id", at: path) ?? ""
            if settings.signingKeys.contains(where: { $0.id == id }) {
                reader.report("\(path).id", "duplicate signing key id '\(id)'")
            }
            guard let text = secret(keyObject, "privateKey", path) else {
                if keyObject["privateKey"] == nil { reader.report("\(path).privateKey", "is required") }
                continue
            }
            guard let key = try? AsymmetricKey(pem: text), key.isPrivate,
                key.algorithm == .ed25519 || key.algorithm == .sm2
            else {
                reader.report("\(path).privateKey", "must resolve to a PEM Ed25519 or SM2 private key")
                continue
            }
            settings.signingKeys.append(SigningKey(id: id, key: key))
        }
        if let salt = secret(object, "subjectSalt", "$.tokens") {
            if salt.utf8.count < 16 {
                reader.report("$.tokens.subjectSalt", "must resolve to at least 16 bytes")
            } else {
                settings.subjectSalt = Array(salt.utf8)
            }
        }
        return settings
    }
}
