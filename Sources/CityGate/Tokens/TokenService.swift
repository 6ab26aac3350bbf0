import Cryptography
import Foundation
import Synchronization

/// Issues, verifies and revokes the gateway's OAuth tokens.
///
/// ```
///   partner client ──/oauth/token──► authenticate client (PBKDF2 hash) ─► grant
///        client_credentials      partner-level token, aud = a city the partner may call
///        token-exchange          partner-signed citizen assertion (+ agent assertion) ─► citizen token
///        refresh_token           rotation; a reused refresh token revokes its family
///   access token: JWT (EdDSA, or SM2SM3 with an SM2 key; kid) — iss aud sub scope exp iat jti client_id partner acr [sid act del]
///   every call: signature, expiry, revocation (jti and family), then the pipeline's checks
/// ```
///
/// Access tokens verify without a lookup on any instance that has the public keys (JWKS);
/// revocation is the one shared piece of state.
public final class TokenService: Sendable {
    let active: ActiveConfiguration
    let store: any TokenStateStore
    let delegations: any DelegationKeeping
    let vault: IdentityVault
    let replayStore: ReplayStore
    let material: TokenKeyMaterial
    private let boundIssuer = Mutex<String>("http://127.0.0.1")

    /// The JWT `typ` of access tokens (RFC 9068).
    static let accessTokenType = "at+jwt"
    /// RFC 8693 token type of partner assertions.
    static let jwtTokenType = "urn:ietf:params:oauth:token-type:jwt"
    static let tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"

    init(
        active: ActiveConfiguration, store: any TokenStateStore, delegations: any DelegationKeeping,
        vault: IdentityVault,
        replayStore: ReplayStore, material: TokenKeyMaterial
    ) {
        self.active = active
        self.store = store
        self.delegations = delegations
        self.vault = vault
        self.replayStore = replayStore
        self.material = material
    }

    /// The manifest set a request was started with, pinned by the entry point that serves it
    /// (the token routes, the call pipeline) with ``pinning(_:_:)``, so one request sees one
    /// snapshot even when a reload lands in the middle of it.
    /// Pinned as the snapshot (one reference), not as a copy of its manifest set: a task-local
    /// value is copied in, and the set holds dozens of references.
    @TaskLocal static var pinned: ConfigurationSnapshot.Pin?

    /// The manifests this request sees: the pinned set, else the one in force now.
    var manifests: ManifestSet { Self.pinned?.manifests ?? active.snapshot.manifests }

    /// Runs `body` with the set in force now pinned for everything it asks of this service.
    func pinning<Result>(_ manifests: ManifestSet? = nil, _ body: () throws -> Result) rethrows -> Result {
        try Self.$pinned.withValue(pin(manifests)) { try body() }
    }

    /// ``pinning(_:_:)`` for a body that waits on a store.
    func pinning<Result: Sendable>(_ manifests: ManifestSet? = nil, _ body: () async -> Result) async -> Result {
        await Self.$pinned.withValue(pin(manifests)) { await body() }
    }

    private func pin(_ manifests: ManifestSet?) -> ConfigurationSnapshot.Pin {
        manifests.map(ConfigurationSnapshot.Pin.init) ?? active.snapshot.pin
    }

    /// The issuer: `gateway.json` `tokens.issuer`, or the public listener's address once bound.
    var issuer: String { manifests.tokens.issuer ?? boundIssuer.withLock { $0 } }

    /// Called when the public listener is bound.
    func setBoundAddress(_ hostAndPort: String) { boundIssuer.withLock { $0 = "http://" + hostAndPort } }

    /// The key that signs now: the first configured one, else the generated one.
    var signingKey: TokenSettings.SigningKey {
        manifests.tokens.signingKeys.first ?? material.signingKey
    }

    /// Every key that verifies: the configured ones (rotation) and the generated one.
    var verificationKeys: [TokenSettings.SigningKey] {
        var keys = manifests.tokens.signingKeys
        if !keys.contains(where: { $0.id == material.signingKey.id }) { keys.append(material.signingKey) }
        return keys
    }

    var subjectSalt: [UInt8] { manifests.tokens.subjectSalt ?? material.subjectSalt }

    /// A citizen's (or agent's) stable pseudonym: HMAC-SHA256 under the gateway's salt of the
    /// partner id and the partner-side id. The raw id never leaves the token endpoint.
    func subjectHash(partnerId: String, id: String) -> String {
        let mac = (try? Digest.sha256.hmac(key: subjectSalt, data: Array((partnerId + "\u{0}" + id).utf8))) ?? []
        return "c_" + Encoding.base64(mac.prefix(20), urlSafe: true)
    }

    /// `/.well-known/jwks.json`: the public halves of every verification key (RFC 7517, RFC 8037).
    func jwks() -> [String: Any] {
        let keys: [[String: Any]] = verificationKeys.compactMap { entry in
            if entry.algorithm == .sm2sm3 {
                // An EC key on the private curve name SM2 (GB/T 32918), uncompressed point split.
                guard let point = try? entry.key.ecPublicPoint(), point.count == 65, point[0] == 4 else { return nil }
                return [
                    "kty": "EC", "crv": "SM2", "x": Encoding.base64(point[1..<33], urlSafe: true),
                    "y": Encoding.base64(point[33...], urlSafe: true), "kid": entry.id, "use": "sig",
                    "alg": JSONWebToken.Algorithm.sm2sm3.rawValue,
                ]
            }
            guard let raw = try? entry.key.rawPublicKey() else { return nil }
            return [
                "kty": "OKP", "crv": "Ed25519", "x": Encoding.base64(raw, urlSafe: true), "kid": entry.id,
                "use": "sig", "alg": "EdDSA",
            ]
        }
        return ["keys": keys]
    }

    /// Signs an access token for `grant`; returns it with its id and expiry.
    func issueAccessToken(_ grant: TokenGrant, family: String?, now: Int64) throws(OAuthError) -> (
        token: String, jti: String, expiresAt: Int64
    ) {
        let lifetime = Int64(manifests.tokens.accessTokenSeconds)
        let jti = try Self.randomId(prefix: "at_")
        var claims: [String: Any] = [
            "iss": issuer, "aud": grant.audience, "sub": grant.subject, "scope": grant.scopes.joined(separator: " "),
            "iat": now, "exp": now + lifetime, "jti": jti, "client_id": grant.clientId, "partner": grant.partnerId,
            "acr": grant.level.rawValue,
        ]
        if let family { claims["sid"] = family }
        if let actor = grant.actor { claims["act"] = ["sub": actor] }
        if let delegation = grant.delegationId { claims["del"] = delegation }
        let key = signingKey
        do {
            let token = try JSONWebToken.sign(
                claims: claims, header: ["kid": key.id, "typ": Self.accessTokenType], algorithm: key.algorithm,
                key: .asymmetric(key.key))
            return (token, jti, now + lifetime)
        } catch {
            throw OAuthError("server_error", "the token could not be signed", status: 500)
        }
    }

    /// A verified, unrevoked access token.
    public struct AccessToken: Sendable {
        /// What it grants.
        public var grant: TokenGrant
        /// Its id.
        public var jti: String
        /// Expiry (Unix seconds).
        public var expiresAt: Int64
        /// Issued at.
        public var issuedAt: Int64
        /// The refresh family it came from.
        public var family: String?
    }

    /// Verifies an access token: signature under one of our keys (in that key's algorithm), `typ`, issuer,
    /// expiry, and revocation of its id or family. Errors are `invalid_token` (RFC 6750 §3.1).
    public func verifyAccessToken(_ token: String, now: Int64) throws(OAuthError) -> AccessToken {
        let keys = verificationKeys
        let parsed: JSONWebToken
        do {
            parsed = try JSONWebToken.verify(token, now: now, leeway: 0) { keyId, algorithm in
                guard let entry = keys.first(where: { $0.id == keyId }), entry.algorithm == algorithm else {
                    return nil
                }
                return .asymmetric(entry.key)
            }
        } catch {
            throw OAuthError("invalid_token", "the access token is invalid: \(error.message)", status: 401)
        }
        guard parsed.header["typ"] as? String == Self.accessTokenType, parsed.string("iss") == issuer,
            let jti = parsed.string("jti"), let audience = parsed.string("aud"), let subject = parsed.string("sub"),
            let clientId = parsed.string("client_id"), let partnerId = parsed.string("partner"),
            let level = parsed.string("acr").flatMap(ServiceManifest.AuthLevel.init(rawValue:)),
            let expiresAt = parsed.seconds("exp")
        else {
            throw OAuthError("invalid_token", "the token is not a CityGate access token", status: 401)
        }
        let family = parsed.string("sid")
        if store.isRevoked(jti: jti) || family.map(store.isRevoked(family:)) == true {
            throw OAuthError("invalid_token", "the access token has been revoked", status: 401)
        }
        let scopes = (parsed.string("scope") ?? "").split(separator: " ").map(String.init)
        let actor = (parsed.claims["act"] as? [String: Any])?["sub"] as? String
        let grant = TokenGrant(
            clientId: clientId, partnerId: partnerId, subject: subject, audience: audience, scopes: scopes,
            level: level, actor: actor, delegationId: parsed.string("del"))
        return AccessToken(
            grant: grant, jti: jti, expiresAt: expiresAt, issuedAt: parsed.seconds("iat") ?? 0, family: family)
    }

    static func randomId(prefix: String, bytes: Int = 18) throws(OAuthError) -> String {
        do { return prefix + Encoding.base64(try SecureBytes.random(count: bytes), urlSafe: true) } catch {
            throw OAuthError("server_error", "no randomness available", status: 500)
        }
    }
}
