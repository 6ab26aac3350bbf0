import CityGate
import EventLoops
import Foundation
import HTTPServer
import Store
import Testing

struct ReplayStoreTests {
    static func temporaryDatabasePath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "citygate-db-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("gateway.db").path
    }

    @Test
    func firstUseThenReplayWithinTheWindow() throws {
        let store = try ReplayStore(database: try Database(path: try Self.temporaryDatabasePath()))
        #expect(try store.recordFirstUse(scope: "wechat-city", key: "nonce-1", now: 1000, lifetime: 660))
        #expect(try !store.recordFirstUse(scope: "wechat-city", key: "nonce-1", now: 1001, lifetime: 660))
        #expect(
            try store.recordFirstUse(scope: "alipay-city", key: "nonce-1", now: 1001, lifetime: 660),
            "scopes are separate")
        #expect(try store.recordFirstUse(scope: "wechat-city", key: "nonce-2", now: 1001, lifetime: 660))
    }

    @Test
    func expiredEntryCountsAsNew() throws {
        let store = try ReplayStore(database: try Database(path: try Self.temporaryDatabasePath()))
        #expect(try store.recordFirstUse(scope: "p", key: "k", now: 1000, lifetime: 10))
        #expect(try !store.recordFirstUse(scope: "p", key: "k", now: 1009, lifetime: 10))
        #expect(try store.recordFirstUse(scope: "p", key: "k", now: 1010, lifetime: 10))
        #expect(
            try !store.recordFirstUse(scope: "p", key: "k", now: 1015, lifetime: 10), "re-recorded with a fresh expiry")
    }

    @Test
    func replayIsRefusedAfterARestart() throws {
        let path = try Self.temporaryDatabasePath()
        do {
            let store = try ReplayStore(database: try Database(path: path))
            #expect(try store.recordFirstUse(scope: "p", key: "survives", now: 1000, lifetime: 600))
        }
        let reopened = try ReplayStore(database: try Database(path: path))
        #expect(reopened.memoryCount == 0, "nothing in the front: the answer comes from what was on disk")
        #expect(reopened.windowCount == 1, "the log was read back into the window")
        #expect(try !reopened.recordFirstUse(scope: "p", key: "survives", now: 1100, lifetime: 600))
    }

    /// Past the window's capacity records go to the B-tree table: every one is still refused
    /// when replayed, before and after a restart (when what does not fit is copied over).
    @Test
    func overflowingTheWindowNeverLetsAReplayThrough() throws {
        let path = try Self.temporaryDatabasePath()
        do {
            let store = try ReplayStore(database: try Database(path: path), windowCapacity: 8)
            for index in 0..<30 {
                #expect(try store.recordFirstUse(scope: "p", key: "k\(index)", now: 1000, lifetime: 600))
            }
            #expect(store.windowCount == 8)
            for index in 0..<30 {
                #expect(try !store.recordFirstUse(scope: "p", key: "k\(index)", now: 1001, lifetime: 600))
            }
        }
        let reopened = try ReplayStore(database: try Database(path: path), windowCapacity: 4)
        #expect(reopened.windowCount == 4)
        for index in 0..<30 {
            #expect(try !reopened.recordFirstUse(scope: "p", key: "k\(index)", now: 1002, lifetime: 600))
        }
    }

    /// Records meant to last longer than an hour (Alipay's 48 h) stay out of memory.
    @Test
    func longLifetimesUseTheTable() throws {
        let path = try Self.temporaryDatabasePath()
        let store = try ReplayStore(database: try Database(path: path))
        #expect(try store.recordFirstUse(scope: "alipay", key: "notify-1", now: 1000, lifetime: 48 * 3600))
        #expect(store.windowCount == 0)
        #expect(try !store.recordFirstUse(scope: "alipay", key: "notify-1", now: 90_000, lifetime: 48 * 3600))
        let reopened = try ReplayStore(database: try Database(path: path))
        #expect(try !reopened.recordFirstUse(scope: "alipay", key: "notify-1", now: 90_001, lifetime: 48 * 3600))
        // Once its 48 hours are over the id is new again.
        let later = try ReplayStore(database: try Database(path: path))
        #expect(try later.recordFirstUse(scope: "alipay", key: "notify-1", now: 1000 + 48 * 3600, lifetime: 60))
    }

    @Test
    func boundedMemoryFrontNeverLetsAReplayThrough() throws {
        // A one-record window: the rest take the table path, whose memory front is bounded.
        let store = try ReplayStore(
            database: try Database(path: try Self.temporaryDatabasePath()), memoryCapacity: 16, windowCapacity: 1)
        for index in 0..<200 {
            #expect(try store.recordFirstUse(scope: "p", key: "k\(index)", now: 1000, lifetime: 600))
        }
        #expect(store.memoryCount <= 16)
        for index in 0..<200 {
            #expect(try !store.recordFirstUse(scope: "p", key: "k\(index)", now: 1001, lifetime: 600))
        }
    }

    @Test
    func purgeRemovesOnlyExpiredRows() throws {
        let store = try ReplayStore(database: try Database(path: try Self.temporaryDatabasePath()))
        _ = try store.recordFirstUse(scope: "p", key: "old", now: 1000, lifetime: 10)
        _ = try store.recordFirstUse(scope: "p", key: "new", now: 1000, lifetime: 100)
        #expect(try store.purgeExpired(now: 1050) == 1)
        #expect(try !store.recordFirstUse(scope: "p", key: "new", now: 1050, lifetime: 100))
    }

    @Test
    func concurrentDuplicatesAdmitExactlyOne() async throws {
        let store = try ReplayStore(database: try Database(path: try Self.temporaryDatabasePath()))
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    (try? store.recordFirstUse(scope: "p", key: "same", now: 1000, lifetime: 600)) ?? false
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 1)
    }

    @Test
    func readOnlyDirectoryIsAStorageError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "citygate-ro-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: directory.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory.path) }
        if getuid() == 0 {
            // root ignores directory permissions; a path under a regular file fails to open instead.
            let file = directory.appendingPathComponent("not-a-directory")
            FileManager.default.createFile(atPath: file.path, contents: Data())
            #expect(throws: SQLiteError.self) { try Database(path: file.appendingPathComponent("gateway.db").path) }
        } else {
            #expect(throws: SQLiteError.self) {
                try Database(path: directory.appendingPathComponent("gateway.db").path)
            }
        }
    }
}

/// `locking_mode=EXCLUSIVE` (gateway.db): a second user of the file fails instead of sharing it.
@Suite struct ExclusiveDatabaseTests {
    @Test
    func aSecondConnectionToAnExclusiveFileIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "citygate-exclusive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gateway.db").path
        let first = try Database(path: path, durability: .normal, exclusive: true)
        try first.execute("CREATE TABLE t (x INTEGER)")
        try first.execute("INSERT INTO t VALUES (1)")
        // The second open fails within its busy timeout (5 s) because the first holds the lock.
        #expect(throws: SQLiteError.self) {
            let second = try Database(path: path, durability: .normal, exclusive: true)
            try second.execute("INSERT INTO t VALUES (2)")
        }
        try first.execute("INSERT INTO t VALUES (3)")
    }
}

/// `ReplayStore.record` on an event loop: the records of one loop turn share one commit.
@Suite struct BatchedReplayTests {
    /// Runs `count` records on `loop`, all started in the same turn; returns each outcome.
    static func recordTogether(
        _ store: ReplayStore, on loop: EventLoop, keys: [String], now: Int64
    ) async -> [Result<Bool, ReplayStore.RecordFailure>] {
        await withTaskGroup(of: (Int, Result<Bool, ReplayStore.RecordFailure>).self) { group in
            for (index, key) in keys.enumerated() {
                group.addTask(executorPreference: loop) {
                    // The outcome is complete before the tuple is built: Swift 6.3's optimizer
                    // corrupts a task's tuple result when one element is known before a
                    // suspension and another after it (`return (index, try await …)`; found by
                    // the optimized ASan run, fixed upstream in swiftlang/swift#91911).
                    let outcome: Result<Bool, ReplayStore.RecordFailure>
                    do throws(ReplayStore.RecordFailure) {
                        outcome = .success(try await store.record(scope: "p", key: key, now: now, lifetime: 600))
                    } catch {
                        outcome = .failure(error)
                    }
                    return (index, outcome)
                }
            }
            var results = [Result<Bool, ReplayStore.RecordFailure>?](repeating: nil, count: keys.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
    }

    /// Every key twice in one turn: each admitted once and committed, whether the records go to
    /// the window and its log (the default capacity) or, past a window of 5, to the B-tree table
    /// too (one turn taking both routes).
    @Test(arguments: [(2_000_000, 20), (5, 5)])
    func duplicatesInOneTurnAdmitEachKeyOnceAndEveryRecordIsDurable(windowCapacity: Int, held: Int) async throws {
        let group = try EventLoopGroup(threadCount: 1)
        defer { group.shutdown() }
        let path = try ReplayStoreTests.temporaryDatabasePath()
        let store = try ReplayStore(database: try Database(path: path), windowCapacity: windowCapacity)
        let keys = (0..<40).map { "k\($0 % 20)" }
        let results = await Self.recordTogether(store, on: group.loops[0], keys: keys, now: 1000)
        #expect(results.count == 40)
        #expect(results.filter { (try? $0.get()) == true }.count == 20, "each of the 20 keys is admitted once")
        #expect(store.windowCount == held)
        // Committed, not only remembered: a fresh store on the same file refuses every key.
        let reopened = try ReplayStore(database: try Database(path: path))
        for index in 0..<20 {
            #expect(try !reopened.recordFirstUse(scope: "p", key: "k\(index)", now: 1001, lifetime: 600))
        }
    }

    @Test
    func aFailedCommitFailsEveryWaiterAndForgetsTheirClaims() async throws {
        let group = try EventLoopGroup(threadCount: 1)
        defer { group.shutdown() }
        let path = try ReplayStoreTests.temporaryDatabasePath()
        let database = try Database(path: path)
        let store = try ReplayStore(database: database)
        try database.execute("ALTER TABLE replay RENAME TO replay_away; ALTER TABLE replay_log RENAME TO log_away")
        let failed = await Self.recordTogether(store, on: group.loops[0], keys: ["a", "b", "c"], now: 1000)
        #expect(failed.count == 3)
        #expect(failed.allSatisfy { if case .failure = $0 { true } else { false } }, "no record accepted unstored")
        // Once the store works again the same requests are first uses, not replays.
        try database.execute("ALTER TABLE replay_away RENAME TO replay; ALTER TABLE log_away RENAME TO replay_log")
        let retried = await Self.recordTogether(store, on: group.loops[0], keys: ["a", "b", "c"], now: 1001)
        #expect(retried.map { try? $0.get() } == [true, true, true])
    }

    @Test
    func offTheLoopItRecordsAtOnce() async throws {
        let store = try ReplayStore(database: try Database(path: try ReplayStoreTests.temporaryDatabasePath()))
        #expect(try await store.record(scope: "p", key: "x", now: 1000, lifetime: 600))
        #expect(try await !store.record(scope: "p", key: "x", now: 1001, lifetime: 600))
    }
}
