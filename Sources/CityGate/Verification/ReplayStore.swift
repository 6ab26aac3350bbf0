import EventLoops
import HTTPServer
import Store
import Synchronization

/// Remembers every nonce or message id a partner signed, for as long as a replay of it could
/// still pass the timestamp check, so a captured request cannot be replayed inside the window.
///
/// ```
///   record(scope, key) ─► window (memory, authoritative for what it holds): live? ─► replay
///                      ├► short lifetime, room ─► claim ─► append to replay_log ─► first use
///                      └► long lifetime (48 h), window full, or the scope still has table rows
///                           ─► memory front: live? ─► replay
///                           └► B-tree upsert in `replay` (an expired row counts as new) ─► first use / replay
/// ```
///
/// Short-window records (the timestamp schemes: 11 minutes by default) are decided in memory
/// and only appended to SQLite, which writes them sequentially; the log is read back at start,
/// so a replay after a restart is still refused. Until this design every call inserted into a
/// B-tree of every live nonce: a random 4 KiB leaf written per call, 14 % of the gateway's CPU in
/// the pipeline benchmark and growing with the window. Long-lived records, and everything past the
/// window's capacity, take that B-tree path, where a bounded memory front answers a replay of
/// something just written without touching disk (forgetting an entry there never lets a replay
/// through: SQLite still has it).
///
/// On an event loop ``record(scope:key:now:lifetime:)`` joins the records of the loop's current
/// turn: one transaction per turn instead of one per call, and every caller resumes only after
/// the commit holding its record.
public final class ReplayStore: Sendable {
    private enum Route {
        case window(digest: UInt64)
        case table(memoryKey: String)
    }

    private struct Pending {
        let scope: String
        let key: String
        let expiresAt: Int64
        let now: Int64
        let route: Route
        let continuation: UnsafeContinuation<Result<Bool, SQLiteError>, Never>
    }

    private let database: Database
    private let window: Mutex<ReplayWindow>
    private let memory = Mutex<[String: Int64]>([:])
    private let memoryCapacity: Int
    /// Records waiting for their loop's end-of-turn commit, by loop index.
    private let pending = Mutex<[Int: [Pending]]>([:])

    /// Uses `database` (migrated to the gateway schema) and reads the replay log back into the
    /// window. `windowCapacity` bounds the window (about 40 bytes a record); `memoryCapacity`
    /// the front of the B-tree path.
    /// The window shared with other instances, when `gateway.json` `state.redis` names one.
    private let shared = Mutex<RedisReplayWindow?>(nil)

    public init(database: Database, memoryCapacity: Int = 100_000, windowCapacity: Int = 2_000_000)
        throws(SQLiteError)
    {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
        self.memoryCapacity = max(16, memoryCapacity)
        self.window = Mutex(try Self.loadWindow(database, capacity: windowCapacity))
    }

    /// Rebuilds the window from the log (expired rows drop out on first use). Rows past the
    /// capacity are copied to the table, so none is forgotten (they stay in the log until they
    /// expire; copying them again on the next start changes nothing).
    private static func loadWindow(_ database: Database, capacity: Int) throws(SQLiteError) -> ReplayWindow {
        var window = ReplayWindow(capacity: capacity)
        try database.transaction { session throws(SQLiteError) in
            var overflow: [(String, String, Int64)] = []
            _ = try session.query("SELECT scope, key, expires_at FROM replay_log ORDER BY expires_at") { row in
                let (scope, key, expiresAt) = (row.text(0) ?? "", row.text(1) ?? "", row.integer(2))
                if !window.load(scope: scope, key: key, expiresAt: expiresAt) {
                    overflow.append((scope, key, expiresAt))
                }
            }
            for (scope, key, expiresAt) in overflow {
                try session.run(
                    "INSERT INTO replay (scope, key, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    [.text(scope), .text(key), .integer(expiresAt)])
            }
            _ = try session.query("SELECT scope, MAX(expires_at) FROM replay GROUP BY scope") { row in
                window.noteTable(scope: row.text(0) ?? "", until: row.integer(1))
            }
        }
        return window
    }

    /// Records `key` within `scope` until `now + lifetime`, at once. Returns true on first use,
    /// false when the same key is already recorded and not yet expired (a replay).
    /// - Parameters:
    ///   - scope: usually the partner id (keys are unique per partner, not globally).
    ///   - key: the nonce, message id or notify id.
    ///   - now: Unix seconds.
    ///   - lifetime: seconds to remember it; the timestamp window in both directions plus margin.
    public func recordFirstUse(scope: String, key: String, now: Int64, lifetime: Int64) throws(SQLiteError) -> Bool {
        let expiresAt = now + lifetime
        switch window.withLock({ $0.decide(scope: scope, key: key, now: now, lifetime: lifetime) }) {
        case .replay:
            return false
        case .window(let digest):
            do {
                try database.withConnection { session throws(SQLiteError) in
                    try Self.append(scope: scope, key: key, expiresAt: expiresAt, session)
                }
            } catch {
                window.withLock { $0.release(digest, expiresAt: expiresAt) }
                throw error
            }
            return true
        case .table:
            let memoryKey = scope + "\u{0}" + key
            if let held = memory.withLock({ $0[memoryKey] }), held > now { return false }
            let changed = try database.withConnection { session throws(SQLiteError) in
                try Self.insert(scope: scope, key: key, expiresAt: expiresAt, now: now, session)
            }
            remember(memoryKey, until: expiresAt, now: now)
            return changed
        }
    }

    /// ``recordFirstUse(scope:key:now:lifetime:)`` for callers on an event loop: the record is
    /// committed with the others of this loop turn, and the call returns after that commit.
    /// Elsewhere it records at once.
    /// With a shared window (``share(_:)``), the claim is made there instead: every instance sees it.
    public func record(scope: String, key: String, now: Int64, lifetime: Int64) async throws(RecordFailure) -> Bool {
        if let shared = shared.withLock({ $0 }) {
            do { return try await shared.claim(scope: scope, key: key, lifetime: lifetime) } catch {
                throw .sharedStateUnavailable(error.description)
            }
        }
        do { return try await recordLocally(scope: scope, key: key, now: now, lifetime: lifetime) } catch {
            throw .store(error)
        }
    }

    /// Why a request could not be recorded: it must then be refused, never accepted unrecorded.
    public enum RecordFailure: Error, Sendable {
        /// gateway.db could not be written.
        case store(SQLiteError)
        /// The shared window (Redis) could not be reached.
        case sharedStateUnavailable(String)
    }

    /// Claims in `window` from now on (instances sharing state; set once at start).
    func share(_ window: RedisReplayWindow) { shared.withLock { $0 = window } }

    private func recordLocally(scope: String, key: String, now: Int64, lifetime: Int64) async throws(SQLiteError)
        -> Bool
    {
        guard let loop = EventLoop.current else {
            return try recordFirstUse(scope: scope, key: key, now: now, lifetime: lifetime)
        }
        let expiresAt = now + lifetime
        let route: Route
        switch window.withLock({ $0.decide(scope: scope, key: key, now: now, lifetime: lifetime) }) {
        case .replay:
            return false
        case .window(let digest):
            route = .window(digest: digest)
        case .table:
            // Claimed in the front first: a copy arriving in the same turn is a replay, not a
            // second insert. A failed commit takes the claim back.
            let memoryKey = scope + "\u{0}" + key
            guard claim(memoryKey, until: expiresAt, now: now) else { return false }
            route = .table(memoryKey: memoryKey)
        }
        let result = await withUnsafeContinuation { continuation in
            let first = pending.withLock { pending -> Bool in
                let waiting = Pending(
                    scope: scope, key: key, expiresAt: expiresAt, now: now, route: route, continuation: continuation)
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
                try batch.map { waiting throws(SQLiteError) -> Bool in
                    switch waiting.route {
                    case .window:
                        try Self.append(scope: waiting.scope, key: waiting.key, expiresAt: waiting.expiresAt, session)
                        return true
                    case .table:
                        return try Self.insert(
                            scope: waiting.scope, key: waiting.key, expiresAt: waiting.expiresAt, now: waiting.now,
                            session)
                    }
                }
            }
        }
        switch outcome {
        case .success(let firsts):
            for (waiting, first) in zip(batch, firsts) { waiting.continuation.resume(returning: .success(first)) }
        case .failure(let error):
            window.withLock { window in
                for waiting in batch {
                    if case .window(let digest) = waiting.route { window.release(digest, expiresAt: waiting.expiresAt) }
                }
            }
            memory.withLock { entries in
                for waiting in batch {
                    if case .table(let memoryKey) = waiting.route { entries[memoryKey] = nil }
                }
            }
            for waiting in batch { waiting.continuation.resume(returning: .failure(error)) }
        }
    }

    /// Appends a window record to the log.
    private static func append(scope: String, key: String, expiresAt: Int64, _ session: Session)
        throws(SQLiteError)
    {
        _ = try session.run(
            "INSERT INTO replay_log (scope, key, expires_at) VALUES (?1, ?2, ?3)",
            [.text(scope), .text(key), .integer(expiresAt)])
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
        window.withLock { $0.expire(now: now) }
        let table = try deleteInChunks(
            "DELETE FROM replay WHERE (scope, key) IN (SELECT scope, key FROM replay WHERE expires_at <= ?1 LIMIT ?2)",
            now: now, chunk: chunk)
        let log = try deleteInChunks(
            "DELETE FROM replay_log WHERE id IN (SELECT id FROM replay_log WHERE expires_at <= ?1 LIMIT ?2)",
            now: now, chunk: chunk)
        return table + log
    }

    private func deleteInChunks(_ sql: String, now: Int64, chunk: Int) throws(SQLiteError) -> Int {
        let limit = max(1, chunk)
        var total = 0
        while true {
            let deleted = try database.withConnection { session throws(SQLiteError) in
                try session.run(sql, [.integer(now), .integer(Int64(limit))])
            }
            total += deleted
            if deleted < limit { return total }
        }
    }

    /// Records held in the window.
    public var windowCount: Int { window.withLock { $0.count } }

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
