/// Where delegations live: ``DelegationStore`` (gateway.db) for one instance,
/// ``SharedDelegationStore`` (PostgreSQL) when instances share them, so a delegation registered
/// or revoked through one instance holds on every other at its next call.
protocol DelegationKeeping: Sendable {
    /// Stores a new delegation.
    func insert(_ delegation: Delegation, now: Int64) async throws
    /// One delegation by id.
    func find(id: String) async throws -> Delegation?
    /// The delegations valid at `now` that let `agent` act for `citizen` through `partnerId`.
    func valid(partnerId: String, agent: String, citizen: String, now: Int64) async throws -> [Delegation]
    /// Every delegation, newest first (at most `limit`).
    func list(limit: Int) async throws -> [Delegation]
    /// Revokes a delegation; false when there is none with that id.
    func revoke(id: String, now: Int64) async throws -> Bool
}

extension DelegationStore: DelegationKeeping {}
