/// The live short-window replay records, held in memory as the authority for what they hold.
///
/// ```
///   decide(scope, key, lifetime) ─► live digest here?                      ─► .replay
///                                ├► long lifetime, window full, or the scope
///                                │  still has live rows in the B-tree table  ─► .table (SQLite decides)
///                                └► claim the digest (expires with its FIFO) ─► .window (append to the log)
/// ```
///
/// A record is a 64-bit keyed hash of (scope, key) and its expiry: about 40 bytes with its place
/// in an expiry queue, so two million records take about 80 MB. The hash is seeded per process
/// (Swift's `Hasher`) and rebuilt from the log at start; a collision would refuse one new call as
/// a replay, with a chance of about n / 2⁶⁴ per call. Records leave through per-lifetime FIFO
/// queues (a lifetime's records expire in the order they came), a little on every decision, so
/// nothing ever sweeps the whole window while callers wait.
struct ReplayWindow {
    /// Where a record goes.
    enum Decision: Equatable {
        /// A live record holds the same key: refuse.
        case replay
        /// Claimed here; append it to the log.
        case window(digest: UInt64)
        /// Let the B-tree table decide (it may also find a replay).
        case table
    }

    /// Records of one lifetime, oldest first.
    private struct ExpiryQueue {
        var digests: [UInt64] = []
        var expiries: [Int64] = []
        var head = 0

        mutating func push(_ digest: UInt64, _ expiresAt: Int64) {
            digests.append(digest)
            expiries.append(expiresAt)
        }

        /// Pops every record expired at `now` and removes it from `held`, unless it was claimed
        /// again since with a later expiry.
        mutating func popExpired(now: Int64, from held: inout [UInt64: Int64]) {
            while head < expiries.count, expiries[head] <= now {
                if held[digests[head]] == expiries[head] { held[digests[head]] = nil }
                head += 1
            }
            // Compact once the popped prefix is most of the storage.
            if head > 1024 && head * 2 > expiries.count {
                digests.removeFirst(head)
                expiries.removeFirst(head)
                head = 0
            }
        }
    }

    /// Records with a longer lifetime (Alipay's 48 h) stay in the B-tree table: holding them here
    /// would tie up memory for days.
    static let lifetimeLimit: Int64 = 3600
    /// The queue of records loaded at start (sorted by expiry, whatever their lifetime).
    private static let loadedQueue: Int64 = -1

    let capacity: Int
    private var expiries: [UInt64: Int64] = [:]
    private var queues: [Int64: ExpiryQueue] = [:]
    /// Per scope, the last expiry of a record placed in the table: until then the table must be
    /// asked too, since it may hold a key this window does not.
    private var tableUntil: [String: Int64] = [:]

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Records held.
    var count: Int { expiries.count }

    /// The digest of (scope, key) for this process.
    static func digest(scope: String, key: String) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(scope)
        hasher.combine(key)
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// Decides a new record and claims it when it belongs here.
    mutating func decide(scope: String, key: String, now: Int64, lifetime: Int64) -> Decision {
        expire(now: now)
        let digest = Self.digest(scope: scope, key: key)
        if let expiresAt = expiries[digest], expiresAt > now { return .replay }
        let expiresAt = now + lifetime
        if lifetime > Self.lifetimeLimit || (tableUntil[scope] ?? .min) > now || expiries.count >= capacity {
            tableUntil[scope] = max(tableUntil[scope] ?? .min, expiresAt)
            return .table
        }
        expiries[digest] = expiresAt
        queues[lifetime, default: ExpiryQueue()].push(digest, expiresAt)
        return .window(digest: digest)
    }

    /// Takes back a claim whose log append failed.
    mutating func release(_ digest: UInt64, expiresAt: Int64) {
        if expiries[digest] == expiresAt { expiries[digest] = nil }
    }

    /// A record read back from the log at start; false when the window is full (the caller moves
    /// it to the table instead). Call in ascending expiry order.
    mutating func load(scope: String, key: String, expiresAt: Int64) -> Bool {
        guard expiries.count < capacity else {
            noteTable(scope: scope, until: expiresAt)
            return false
        }
        let digest = Self.digest(scope: scope, key: key)
        expiries[digest] = max(expiries[digest] ?? .min, expiresAt)
        queues[Self.loadedQueue, default: ExpiryQueue()].push(digest, expiresAt)
        return true
    }

    /// Notes that the table holds a record of `scope` until `until`.
    mutating func noteTable(scope: String, until: Int64) {
        tableUntil[scope] = max(tableUntil[scope] ?? .min, until)
    }

    /// Drops what has expired at `now`.
    mutating func expire(now: Int64) {
        for lifetime in queues.keys {
            queues[lifetime]?.popExpired(now: now, from: &expiries)
        }
        if tableUntil.values.contains(where: { $0 <= now }) { tableUntil = tableUntil.filter { $0.value > now } }
    }
}
