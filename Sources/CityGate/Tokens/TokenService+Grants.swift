import Cryptography
import Foundation
import HTTPCore

extension TokenService {
    /// A hash no secret matches, checked for unknown client ids at the default work factor.
    static let unknownClientHash: PasswordHash.Stored? =
        (try? PasswordHash.make(
            secret: Encoding.hex((try? SecureBytes.random(count: 16)) ?? [1]))).flatMap(PasswordHash.Stored.init)

    /// Client authentication (RFC 6749 §2.3.1): `client_secret_basic` or `client_secret_post`,
    /// never both. Unknown client and wrong secret give the same answer.
    func authenticateClient(authorization: String?, form: [String: String]) throws(OAuthError) -> OAuthClient {
        var id: String?
        var secret: String?
        let basicChallenge = "Basic realm=\"citygate\""
        if let authorization, authorization.lowercased().hasPrefix("basic ") {
            guard let decoded = Encoding.base64Decode(String(authorization.dropFirst(6))),
                let text = String(bytes: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else {
                throw OAuthError(
                    "invalid_client", "the Basic credentials are malformed", status: 401, challenge: basicChallenge)
            }
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
            id = FormEncoding.decode("x=" + text[..<colon])?["x"]
            secret = FormEncoding.decode("x=" + text[text.index(after: colon)...])?["x"]
            if form["client_secret"] != nil {
                throw OAuthError("invalid_request", "use one client authentication method, not two")
            }
        } else if let formId = form["client_id"], let formSecret = form["client_secret"] {
            id = formId
            secret = formSecret
        }
        guard let id, let secret else {
            throw OAuthError(
                "invalid_client", "client authentication is required (client_secret_basic or client_secret_post)",
                status: 401, challenge: basicChallenge)
        }
        guard let client = manifests.client(id) else {
            // The same PBKDF2 work as for a known client, so timing does not tell which ids exist.
            _ = Self.unknownClientHash?.matches(secret)
            throw OAuthError("invalid_client", "client authentication failed", status: 401, challenge: basicChallenge)
        }
        guard client.secretHash.matches(secret) else {
            throw OAuthError("invalid_client", "client authentication failed", status: 401, challenge: basicChallenge)
        }
        return client
    }

    /// `/oauth/token` for an authenticated client; returns the RFC 6749 §5.1 answer.
    func token(form: [String: String], client: OAuthClient, now: Int64) async throws(OAuthError) -> [String: Any] {
        switch form["grant_type"] ?? "" {
        case "client_credentials": return try clientCredentials(form, client, now)
        case Self.tokenExchangeGrant: return try await tokenExchange(form, client, now)
        case "refresh_token": return try await refresh(form, client, now)
        case "": throw OAuthError("invalid_request", "grant_type is required")
        default:
            throw OAuthError(
                "unsupported_grant_type",
                "supported: client_credentials, refresh_token, \(Self.tokenExchangeGrant)")
        }
    }

    /// The scopes to grant: the requested ones (all must be allowed), or every allowed one.
    private func scopes(_ form: [String: String], allowed: Set<String>) throws(OAuthError) -> [String] {
        guard let requested = form["scope"] else { return allowed.sorted() }
        let wanted = Set(requested.split(separator: " ").map(String.init))
        guard !wanted.isEmpty else { throw OAuthError("invalid_scope", "scope is empty") }
        let refused = wanted.subtracting(allowed)
        guard refused.isEmpty else {
            let names = refused.sorted().map { EchoableText.identifier($0) ?? "(a scope that is not a plain name)" }
            throw OAuthError("invalid_scope", "not allowed for this client: \(names.joined(separator: " "))")
        }
        return wanted.sorted()
    }

    /// The city the token is for: `audience` (RFC 8693) naming a city the partner may call, or
    /// the partner's only city.
    private func audience(_ requested: String?, client: OAuthClient) throws(OAuthError) -> String {
        let cities = manifests.partners[client.partnerId]?.cities ?? []
        guard let requested else {
            guard cities.count == 1, let only = cities.first else {
                throw OAuthError(
                    "invalid_request",
                    "audience (the city code the token is for) is required: this partner serves \(cities.sorted().joined(separator: ", "))"
                )
            }
            return only
        }
        guard cities.contains(requested), let city = manifests.cities[requested],
            city.partners.contains(client.partnerId)
        else {
            throw OAuthError(
                "invalid_target",
                "this partner may not call city \(EchoableText.quoted(requested, or: "named by audience"))")
        }
        return requested
    }

    private func answer(
        _ grant: TokenGrant, family: String?, refresh: String?, now: Int64
    ) throws(OAuthError) -> [String: Any] {
        let access = try issueAccessToken(grant, family: family, now: now)
        var body: [String: Any] = [
            "access_token": access.token, "token_type": "Bearer", "expires_in": access.expiresAt - now,
            "scope": grant.scopes.joined(separator: " "),
        ]
        if let refresh { body["refresh_token"] = refresh }
        return body
    }

    private func clientCredentials(_ form: [String: String], _ client: OAuthClient, _ now: Int64) throws(OAuthError)
        -> [String: Any]
    {
        let grant = TokenGrant(
            clientId: client.id, partnerId: client.partnerId, subject: client.id,
            audience: try audience(form["audience"], client: client),
            scopes: try scopes(form, allowed: client.scopes), level: .partner)
        // RFC 6749 §4.4.3: no refresh token for client credentials.
        return try answer(grant, family: nil, refresh: nil, now: now)
    }

    /// A partner's signed statement about a person (citizen or agent).
    struct Assertion {
        let subject: String
        let audience: String
        let level: ServiceManifest.AuthLevel
    }

    /// Verifies an assertion the client signed: its key, `iss` = the client, `aud` = a city,
    /// a short lifetime, and a `jti` never seen before (replay protection).
    func verifyAssertion(_ token: String, client: OAuthClient, role: String, now: Int64) throws(OAuthError)
        -> Assertion
    {
        let parsed: JSONWebToken
        do {
            parsed = try JSONWebToken.verify(token, now: now) { keyId, algorithm in
                client.assertionKey(id: keyId, algorithm: algorithm)
            }
        } catch {
            throw OAuthError("invalid_grant", "the \(role) token is invalid: \(error.message)")
        }
        let maxLifetime = Int64(manifests.tokens.assertionMaxSeconds)
        guard parsed.string("iss") == client.id else {
            throw OAuthError("invalid_grant", "the \(role) token's iss must be the client id")
        }
        guard let subject = parsed.string("sub"), !subject.isEmpty, subject.utf8.count <= 128 else {
            throw OAuthError("invalid_grant", "the \(role) token needs sub (the partner-side id, at most 128 bytes)")
        }
        let audiences: [String] =
            (parsed.claims["aud"] as? String).map { [$0] } ?? (parsed.claims["aud"] as? [String] ?? [])
        guard audiences.count == 1, let audience = audiences.first else {
            throw OAuthError("invalid_grant", "the \(role) token's aud must name one city")
        }
        guard let issuedAt = parsed.seconds("iat"), let expiresAt = parsed.seconds("exp"),
            expiresAt - issuedAt <= maxLifetime
        else {
            throw OAuthError("invalid_grant", "the \(role) token needs iat and exp at most \(maxLifetime) s apart")
        }
        guard let jti = parsed.string("jti"), !jti.isEmpty, jti.utf8.count <= 128 else {
            throw OAuthError("invalid_grant", "the \(role) token needs a jti")
        }
        let level: ServiceManifest.AuthLevel
        switch parsed.claims["acr"] {
        case nil: level = .citizen
        case let text as String where text == "citizen" || text == "real-name":
            level = ServiceManifest.AuthLevel(rawValue: text) ?? .citizen
        default: throw OAuthError("invalid_grant", "the \(role) token's acr must be citizen or real-name")
        }
        // A real-name subject is the person the platform verified: where the platform names
        // people by resident id, a malformed one is refused before anything is issued for it.
        if role == "subject", level == .realName, client.realNameSubject == .residentId,
            !InputFormat.residentId.accepts(subject)
        {
            throw OAuthError(
                "invalid_grant",
                "the subject token is real-name, so its sub must be a valid resident id (GB 11643 check digit)")
        }
        let firstUse: Bool
        do {
            firstUse = try replayStore.recordFirstUse(
                scope: "assertion:" + client.id, key: jti, now: now, lifetime: max(1, expiresAt - now) + 60)
        } catch {
            throw OAuthError("temporarily_unavailable", "the gateway cannot record the assertion; retry", status: 503)
        }
        guard firstUse else { throw OAuthError("invalid_grant", "the \(role) token was already used") }
        return Assertion(subject: subject, audience: audience, level: level)
    }

    private func tokenExchange(_ form: [String: String], _ client: OAuthClient, _ now: Int64)
        async throws(OAuthError) -> [String: Any]
    {
        guard !client.assertionKeys.isEmpty else {
            throw OAuthError("unauthorized_client", "this client has no assertion keys for token exchange")
        }
        guard let subjectToken = form["subject_token"], !subjectToken.isEmpty else {
            throw OAuthError("invalid_request", "subject_token is required")
        }
        guard form["subject_token_type"] == Self.jwtTokenType else {
            throw OAuthError("invalid_request", "subject_token_type must be \(Self.jwtTokenType)")
        }
        let citizen = try verifyAssertion(subjectToken, client: client, role: "subject", now: now)
        if let requested = form["audience"], requested != citizen.audience {
            throw OAuthError("invalid_target", "audience differs from the subject token's aud")
        }
        let city = try audience(citizen.audience, client: client)
        let citizenHash = subjectHash(partnerId: client.partnerId, id: citizen.subject)
        if manifests.services.values.contains(where: \.rawIdentity) {
            // Some service keys on the citizen's own id: keep it sealed for as long as the
            // refresh family can live. No raw-identity service, nothing kept.
            do {
                try await vault.store(
                    subject: citizenHash, raw: citizen.subject, salt: subjectSalt,
                    until: now + Int64(manifests.tokens.refreshTokenSeconds))
            } catch {
                throw OAuthError("temporarily_unavailable", "the gateway cannot store tokens now; retry", status: 503)
            }
        }
        var grant = TokenGrant(
            clientId: client.id, partnerId: client.partnerId, subject: citizenHash, audience: city,
            scopes: try scopes(form, allowed: client.scopes), level: citizen.level)
        if let actorToken = form["actor_token"] {
            guard form["actor_token_type"] == Self.jwtTokenType else {
                throw OAuthError("invalid_request", "actor_token_type must be \(Self.jwtTokenType)")
            }
            let agent = try verifyAssertion(actorToken, client: client, role: "actor", now: now)
            guard agent.audience == city else {
                throw OAuthError("invalid_grant", "the actor token is for another city")
            }
            let agentHash = subjectHash(partnerId: client.partnerId, id: agent.subject)
            let found: [Delegation]
            do {
                found = try await delegations.valid(
                    partnerId: client.partnerId, agent: agentHash, citizen: citizenHash, now: now)
            } catch {
                throw OAuthError("temporarily_unavailable", "delegations cannot be read; retry", status: 503)
            }
            guard let delegation = found.first else {
                throw OAuthError("invalid_grant", "no valid delegation lets this agent act for this citizen")
            }
            grant.actor = agentHash
            grant.delegationId = delegation.id
        }
        return try await startFamily(grant, now: now)
    }

    /// Issues an access token and the first refresh token of a new family.
    private func startFamily(_ grant: TokenGrant, now: Int64) async throws(OAuthError) -> [String: Any] {
        let family = try Self.randomId(prefix: "fam_", bytes: 12)
        let refresh = try Self.randomId(prefix: "rt_", bytes: 32)
        let expiresAt = now + Int64(manifests.tokens.refreshTokenSeconds)
        do { try await store.storeRefresh(refresh, family: family, grant: grant, expiresAt: expiresAt) } catch {
            throw OAuthError("temporarily_unavailable", "the gateway cannot store tokens now; retry", status: 503)
        }
        return try answer(grant, family: family, refresh: refresh, now: now)
    }

    private func refresh(_ form: [String: String], _ client: OAuthClient, _ now: Int64) async throws(OAuthError)
        -> [String: Any]
    {
        guard let token = form["refresh_token"], !token.isEmpty else {
            throw OAuthError("invalid_request", "refresh_token is required")
        }
        let redemption: TokenStore.Redemption
        do { redemption = try await store.redeem(token, clientId: client.id, now: now) } catch {
            throw OAuthError("temporarily_unavailable", "the gateway cannot read tokens now; retry", status: 503)
        }
        switch redemption {
        case .invalid:
            throw OAuthError("invalid_grant", "the refresh token is invalid, expired or revoked")
        case .reused:
            throw OAuthError(
                "invalid_grant", "the refresh token was already used; every token of its family is now revoked")
        case .fresh(let family, var grant, let expiresAt):
            if form["scope"] != nil { grant.scopes = try scopes(form, allowed: Set(grant.scopes)) }
            let next = try Self.randomId(prefix: "rt_", bytes: 32)
            do { try await store.storeRefresh(next, family: family, grant: grant, expiresAt: expiresAt) } catch {
                throw OAuthError("temporarily_unavailable", "the gateway cannot store tokens now; retry", status: 503)
            }
            return try answer(grant, family: family, refresh: next, now: now)
        }
    }

    /// RFC 7009: revokes an access token (until it expires) or a refresh token's whole family.
    /// Tokens that are invalid or belong to another client are ignored (the answer is 200 either way).
    func revoke(token: String, client: OAuthClient, now: Int64) async throws(OAuthError) {
        do {
            if token.hasPrefix("rt_") {
                if let family = try await store.family(ofRefresh: token, clientId: client.id) {
                    try await store.revoke(kind: "family", id: family, until: now + TokenStore.familyRevocationSeconds)
                }
                return
            }
            guard let access = try? verifyAccessToken(token, now: now), access.grant.clientId == client.id else {
                return
            }
            try await store.revoke(kind: "jti", id: access.jti, until: access.expiresAt + 60)
        } catch {
            throw OAuthError("temporarily_unavailable", "the gateway cannot record the revocation; retry", status: 503)
        }
    }

    /// RFC 7662: what a token is, for a client of the same partner; anything else is inactive.
    func introspect(token: String, client: OAuthClient, now: Int64) -> [String: Any] {
        guard let access = try? verifyAccessToken(token, now: now), access.grant.partnerId == client.partnerId else {
            return ["active": false]
        }
        var body: [String: Any] = [
            "active": true, "scope": access.grant.scopes.joined(separator: " "), "client_id": access.grant.clientId,
            "sub": access.grant.subject, "aud": access.grant.audience, "iss": issuer, "exp": access.expiresAt,
            "iat": access.issuedAt, "jti": access.jti, "token_type": "Bearer", "acr": access.grant.level.rawValue,
            "partner": access.grant.partnerId,
        ]
        if let actor = access.grant.actor { body["act"] = ["sub": actor] }
        if let delegation = access.grant.delegationId { body["del"] = delegation }
        return body
    }
}
