import Store
import Synchronization

/// Remembers every nonce or message id a partner signed, for as long as a replay of it could
/// still pass the timestamp check, so a captured request cannot be replayed inside the window.
///
/// ```
///   recordFirstUse(scope, key) ─► memory front: live entry? ─► replay (no disk access)
///                              └► SQLite upsert (an expired row counts as new) ─► first use / replay
/// ```
///
/// SQLite makes it survive restarts; the memory front answers a replay of something just written
/// without touching disk. The front is only a cache: it is bounded, and forgetting an entry there
/// never lets a replay through because SQLite still has it.
public final class ReplayStore: Sendable {
    private let database: Database
    private let memory = Mutex<[String: Int64]>([:])
    private let memoryCapacity: Int

    /// Uses `database` (migrated to the gateway schema).
    public init(database: Database, memoryCapacity: Int = 100_000) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
        self.memoryCapacity = max(16, memoryCapacity)
    }

    /// Records `key` within `scope` until `now + lifetime`. Returns true on first use, false when
    /// the same key is already recorded and not yet expired (a replay).
    /// - Parameters:
    ///   - scope: usually the partner id (keys are unique per partner, not globally).
    ///   - key: the nonce, message id or notify id.
    ///   - now: Unix seconds.
    ///   - lifetime: seconds to remember it; the timestamp window in both directions plus margin.
    public func recordFirstUse(scope: String, key: String, now: Int64, lifetime: Int64) throws(SQLiteError) -> Bool {
        let memoryKey = scope + "\u{0}" + key
        if let expiresAt = memory.withLock({ $0[memoryKey] }), expiresAt > now { return false }
        let expiresAt = now + lifetime
        let changed = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                """
                INSERT INTO replay (scope, key, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at
                WHERE replay.expires_at <= ?4
                """,
                [.text(scope), .text(key), .integer(expiresAt), .integer(now)])
        }
        remember(memoryKey, until: expiresAt, now: now)
        return changed == 1
    }

    /// Deletes expired rows; returns how many.
    @discardableResult
    public func purgeExpired(now: Int64) throws(SQLiteError) -> Int {
        memory.withLock { entries in entries = entries.filter { $0.value > now } }
        return try database.withConnection { session throws(SQLiteError) in
            try session.run("DELETE FROM replay WHERE expires_at <= ?1", [.integer(now)])
        }
    }

    /// Entries held in the memory front.
    public var memoryCount: Int { memory.withLock { $0.count } }

    private func remember(_ key: String, until expiresAt: Int64, now: Int64) {
        memory.withLock { entries in
            if entries.count >= memoryCapacity {
                entries = entries.filter { $0.value > now }
                // Still full of live entries: drop half. SQLite keeps them, so nothing is lost.
                if entries.count >= memoryCapacity {
                    entries = Dictionary(
                        uniqueKeysWithValues: entries.prefix(memoryCapacity / 2).map { ($0.key, $0.value) })
                }
            }
            entries[key] = expiresAt
        }
    }
}
