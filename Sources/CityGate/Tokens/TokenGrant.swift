import Foundation

/// What a token stands for: which client of which partner, for whom, in which city, with which
/// scopes and assurance, and — for an agent station — who acts and under which delegation.
/// Access tokens carry it as claims; refresh tokens point at it in the store.
public struct TokenGrant: Sendable, Equatable {
    /// The OAuth client.
    public var clientId: String
    /// The partner the client belongs to.
    public var partnerId: String
    /// `sub`: a citizen's salted hash, or the client id for a partner-level token.
    public var subject: String
    /// `aud`: the city code the token is good for.
    public var audience: String
    /// Granted scopes.
    public var scopes: [String]
    /// How well the subject is known.
    public var level: ServiceManifest.AuthLevel
    /// The agent's salted hash when an agent station acts for the citizen (RFC 8693 `act`).
    public var actor: String?
    /// The delegation record that allows the agent to act.
    public var delegationId: String?

    /// Whether the subject is a citizen (not the partner itself).
    public var isCitizen: Bool { level >= .citizen }

    func json() -> String {
        var object: [String: Any] = [
            "client": clientId, "partner": partnerId, "sub": subject, "aud": audience, "scope": scopes,
            "acr": level.rawValue,
        ]
        if let actor { object["act"] = actor }
        if let delegationId { object["del"] = delegationId }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    init(
        clientId: String, partnerId: String, subject: String, audience: String, scopes: [String],
        level: ServiceManifest.AuthLevel, actor: String? = nil, delegationId: String? = nil
    ) {
        self.clientId = clientId
        self.partnerId = partnerId
        self.subject = subject
        self.audience = audience
        self.scopes = scopes
        self.level = level
        self.actor = actor
        self.delegationId = delegationId
    }

    init?(json: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
            let client = object["client"] as? String, let partner = object["partner"] as? String,
            let subject = object["sub"] as? String, let audience = object["aud"] as? String,
            let scopes = object["scope"] as? [String], let levelText = object["acr"] as? String,
            let level = ServiceManifest.AuthLevel(rawValue: levelText)
        else { return nil }
        self.init(
            clientId: client, partnerId: partner, subject: subject, audience: audience, scopes: scopes, level: level,
            actor: object["act"] as? String, delegationId: object["del"] as? String)
    }
}
