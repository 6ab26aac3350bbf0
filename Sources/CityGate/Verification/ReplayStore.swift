import HTTPServer
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
///
/// Partner calls record through ``record(scope:key:now:lifetime:)``, which on an event loop
/// joins the records of the loop's current turn: one transaction per turn instead of one per
/// call, and every caller resumes only after the commit holding its record.
public final class ReplayStore: Sendable {
    private struct Pending {
        let scope: String
        let key: String
        let memoryKey: String
        let expiresAt: Int64
        let now: Int64
        let continuation: UnsafeContinuation<Result<Bool, SQLiteError>, Never>
    }

    private let database: Database
    private let memory = Mutex<[String: Int64]>([:])
    private let memoryCapacity: Int
    /// Records waiting for their loop's end-of-turn commit, by loop index.
    private let pending = Mutex<[Int: [Pending]]>([:])

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
            try Self.insert(scope: scope, key: key, expiresAt: expiresAt, now: now, session)
        }
        remember(memoryKey, until: expiresAt, now: now)
        return changed
    }

    /// ``recordFirstUse(scope:key:now:lifetime:)`` for callers on an event loop: the record is
    /// committed with the others of this loop turn, and the call returns after that commit.
    /// Elsewhere it records at once.
    public func record(scope: String, key: String, now: Int64, lifetime: Int64) async throws(SQLiteError) -> Bool {
        guard let loop = EventLoop.current else {
            return try recordFirstUse(scope: scope, key: key, now: now, lifetime: lifetime)
        }
        let memoryKey = scope + "\u{0}" + key
        let expiresAt = now + lifetime
        // Claimed in memory first: a copy arriving in the same turn is a replay, not a second
        // insert. A failed commit takes the claim back.
        guard claim(memoryKey, until: expiresAt, now: now) else { return false }
        let result = await withUnsafeContinuation { continuation in
            let first = pending.withLock { pending -> Bool in
                let waiting = Pending(
                    scope: scope, key: key, memoryKey: memoryKey, expiresAt: expiresAt, now: now,
                    continuation: continuation)
                pending[loop.index, default: []].append(waiting)
                return pending[loop.index]?.count == 1
            }
            if first { loop.atEndOfTurn { [self] in commit(loop: loop.index) } }
        }
        return try result.get()
    }

    private func commit(loop index: Int) {
        let batch = pending.withLock { $0.removeValue(forKey: index) ?? [] }
        guard !batch.isEmpty else { return }
        let outcome = Result { () throws(SQLiteError) -> [Bool] in
            try database.transaction { session throws(SQLiteError) -> [Bool] in
                try batch.map { waiting throws(SQLiteError) in
                    try Self.insert(
                        scope: waiting.scope, key: waiting.key, expiresAt: waiting.expiresAt, now: waiting.now,
                        session)
                }
            }
        }
        switch outcome {
        case .success(let firsts):
            for (waiting, first) in zip(batch, firsts) { waiting.continuation.resume(returning: .success(first)) }
        case .failure(let error):
            memory.withLock { entries in
                for waiting in batch { entries[waiting.memoryKey] = nil }
            }
            for waiting in batch { waiting.continuation.resume(returning: .failure(error)) }
        }
    }

    /// Inserts a record, or renews an expired one; true when it is a first use.
    private static func insert(scope: String, key: String, expiresAt: Int64, now: Int64, _ session: Session)
        throws(SQLiteError) -> Bool
    {
        try session.run(
            """
            INSERT INTO replay (scope, key, expires_at) VALUES (?1, ?2, ?3)
            ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at
            WHERE replay.expires_at <= ?4
            """,
            [.text(scope), .text(key), .integer(expiresAt), .integer(now)]) == 1
    }

    /// Deletes expired rows, `chunk` at a time with the connection released in between (so
    /// the loops' replay commits are never held up behind one long delete); returns how many.
    @discardableResult
    public func purgeExpired(now: Int64, chunk: Int = 2_000) throws(SQLiteError) -> Int {
        memory.withLock { entries in entries = entries.filter { $0.value > now } }
        var total = 0
        while true {
            let deleted = try database.withConnection { session throws(SQLiteError) in
                try session.run(
                    """
                    DELETE FROM replay WHERE (scope, key) IN
                    (SELECT scope, key FROM replay WHERE expires_at <= ?1 LIMIT ?2)
                    """, [.integer(now), .integer(Int64(max(1, chunk)))])
            }
            total += deleted
            if deleted < max(1, chunk) { return total }
        }
    }

    /// Entries held in the memory front.
    public var memoryCount: Int { memory.withLock { $0.count } }

    /// Puts `key` in the memory front unless a live entry is already there; true when it did.
    private func claim(_ key: String, until expiresAt: Int64, now: Int64) -> Bool {
        memory.withLock { entries in
            if let held = entries[key], held > now { return false }
            Self.store(key, until: expiresAt, now: now, in: &entries, capacity: memoryCapacity)
            return true
        }
    }

    private func remember(_ key: String, until expiresAt: Int64, now: Int64) {
        memory.withLock { entries in Self.store(key, until: expiresAt, now: now, in: &entries, capacity: memoryCapacity)
        }
    }

    private static func store(
        _ key: String, until expiresAt: Int64, now: Int64, in entries: inout [String: Int64],
        capacity memoryCapacity: Int
    ) {
        if entries.count >= memoryCapacity {
            entries = entries.filter { $0.value > now }
            // Still full of live entries: drop half. SQLite keeps them, so nothing is lost (a
            // dropped claim whose commit is pending meets its copy in the same transaction).
            if entries.count >= memoryCapacity {
                entries = Dictionary(
                    uniqueKeysWithValues: entries.prefix(memoryCapacity / 2).map { ($0.key, $0.value) })
            }
        }
        entries[key] = expiresAt
    }
}
