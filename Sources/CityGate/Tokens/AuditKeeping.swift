/// Where the audit trail lives: ``AuditLog`` (gateway.db) for one instance, ``SharedAuditLog``
/// (PostgreSQL) when instances share state, so every instance appends to one chain with one
/// order and `/admin/audit` on any of them shows the calls all of them made.
///
/// Every append is stored before it returns: a call's entry is written before its answer
/// leaves, as in gateway.db.
protocol AuditKeeping: Sendable {
    /// Links new entries with `algorithm` from now on (`gateway.json` `audit.hash`).
    func use(_ algorithm: AuditChain.HashAlgorithm)
    /// Appends one call (answered or refused) to the chain and the queryable table.
    func record(_ entry: AuditLog.Entry) async throws
    /// Appends another audited event (`delegation.created`, `manifests.reloaded`, …); `fields`
    /// hold identifiers and hashes only, never personal data.
    func append(kind: String, at: Int64, fields: [String: any Sendable]) async throws
    /// Signs the chain's head with `key` unless it is sealed already; the sealed entry's number.
    func seal(key: AuditSealKey, now: Int64) async throws -> Int64?
    /// Chain entries `from`…`to` (at most `limit`) with their hashes, and the seals among them.
    func chain(from: Int64, to: Int64, limit: Int) async throws -> [String: any Sendable]
    /// Calls at or after `since`, newest first; `onBehalfOnly` keeps the delegated ones.
    func list(since: Int64, onBehalfOnly: Bool, limit: Int) async throws -> [AuditLog.Entry]
}

extension AuditLog: AuditKeeping {}
