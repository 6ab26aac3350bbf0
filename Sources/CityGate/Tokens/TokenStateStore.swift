/// Where refresh-token families and revocations live.
///
/// | store | for | revocations reach other instances |
/// |---|---|---|
/// | ``TokenStore`` (gateway.db, the default) | one instance | — |
/// | ``SharedTokenStore`` (PostgreSQL, `state.postgres`) | several instances | within a poll interval (250 ms) |
///
/// Both keep revocations in memory too, so checking one on every call costs a lookup, not a
/// query; writes go to the store first and are answered only after they are durable.
protocol TokenStateStore: Sendable {
    /// Stores a new refresh token of `family` for `grant`.
    func storeRefresh(_ token: String, family: String, grant: TokenGrant, expiresAt: Int64) async throws

    /// Redeems `token` for `clientId`, atomically: two concurrent redemptions of one token —
    /// on one instance or two — give one `fresh` and one `reused`.
    func redeem(_ token: String, clientId: String, now: Int64) async throws -> TokenStore.Redemption

    /// The family of a refresh token this client holds, if any.
    func family(ofRefresh token: String, clientId: String) async throws -> String?

    /// Revokes one access token (`kind` "jti") or a whole family ("family") until `expiresAt`.
    func revoke(kind: String, id: String, until expiresAt: Int64) async throws

    /// Whether an access token id is revoked.
    func isRevoked(jti: String) -> Bool

    /// Whether a refresh family (and every access token issued from it) is revoked.
    func isRevoked(family: String) -> Bool
}
