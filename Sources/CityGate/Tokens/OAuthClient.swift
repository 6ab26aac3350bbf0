import Cryptography

/// One OAuth client of a partner platform (`partners/<id>.json` `clients[]`): how it proves
/// itself at `/oauth/token`, which scopes it may ask for, and the keys that sign its citizen
/// assertions for token exchange.
public struct OAuthClient: Sendable {
    /// A key that signs this client's subject (and actor) assertions.
    public struct AssertionKey: Sendable {
        /// The `kid` the assertion's header names (optional in the assertion when only one key).
        public var id: String
        /// The algorithm the key is for.
        public var algorithm: JSONWebToken.Algorithm
        /// The key.
        public var key: JSONWebToken.Key
        /// The private key or secret, for `citygate assertion` with the demo partners only.
        public var signingKey: JSONWebToken.Key?
    }

    /// The client id (unique across all partners).
    public var id: String
    /// The partner this client belongs to.
    public var partnerId: String
    /// The PBKDF2 hash of the client secret.
    public var secretHash: PasswordHash.Stored
    /// The scopes this client may be granted.
    public var scopes: Set<String>
    /// Keys for token-exchange assertions; empty means the client cannot exchange tokens.
    public var assertionKeys: [AssertionKey]
    /// What a `real-name` subject assertion's `sub` is (`realNameSubject`): a resident id
    /// (checked against GB 11643, the default), or an opaque platform id.
    public var realNameSubject: RealNameSubject = .residentId

    /// What a partner's real-name assertions name the citizen by.
    public enum RealNameSubject: String, Sendable, CaseIterable {
        /// The 18-character resident id (also the HK/Macau/Taiwan residence permit and the
        /// 2023 foreigner's permanent residence card, which share its check digit).
        case residentId = "resident-id"
        /// An id only the platform understands; not checked.
        case opaque
    }

    /// The key for an assertion's `kid` and algorithm: by id, or the only key when no `kid`.
    func assertionKey(id keyId: String?, algorithm: JSONWebToken.Algorithm) -> JSONWebToken.Key? {
        let candidates = keyId.map { wanted in assertionKeys.filter { $0.id == wanted } } ?? assertionKeys
        guard candidates.count == 1, let only = candidates.first, only.algorithm == algorithm else { return nil }
        return only.key
    }
}
