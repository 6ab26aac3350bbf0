import Foundation
import Store
import Testing

@testable import CityGate

/// The inbox in-process: group commit, de-duplication inside one batch, retention, replay.
struct InboxTests {
    static func make(clock: @escaping @Sendable () -> Int64 = { 1_000_000 }) throws -> Inbox {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try Inbox(path: directory.appendingPathComponent("inbox.db").path, clock: clock)
    }

    static func event(_ key: String, bound: Bool = true) -> Inbox.NewEvent {
        Inbox.NewEvent(
            partnerId: "webhooks-demo", eventKey: key, eventType: "case.progress", rawRequest: Array("POST /".utf8),
            payload: Array("{}".utf8), city: bound ? "330100" : nil, service: bound ? "permit.application" : nil,
            operation: bound ? "caseEvent" : nil, orderingKey: nil)
    }

    @Test
    func concurrentAppendsAreStoredOnceEach() async throws {
        let inbox = try Self.make()
        defer { inbox.stop() }
        // 200 appends at once, every key twice: 100 stored, 100 duplicates, one id per key.
        let results = await withTaskGroup(of: (String, Inbox.Appended?).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let key = "msg_\(index % 100)"
                    return (key, try? await inbox.append(Self.event(key)).get())
                }
            }
            return await group.reduce(into: [(String, Inbox.Appended?)]()) { $0.append($1) }
        }
        var stored = 0
        var ids: [String: Set<Int64>] = [:]
        for (key, result) in results {
            switch result {
            case .stored(let id): stored += 1; ids[key, default: []].insert(id)
            case .duplicate(let id): ids[key, default: []].insert(id)
            case nil: Issue.record("an append failed")
            }
        }
        #expect(stored == 100)
        #expect(ids.values.allSatisfy { $0.count == 1 }, "a duplicate names the stored event")
        #expect(try inbox.statistics().counts[.pending] == 100)
    }

    @Test
    func retentionPurgesOnlyOldDeliveredEvents() async throws {
        let inbox = try Self.make()
        defer { inbox.stop() }
        guard case .stored(let old) = try await inbox.append(Self.event("old")).get(),
            case .stored(let recent) = try await inbox.append(Self.event("recent")).get(),
            case .stored = try await inbox.append(Self.event("waiting")).get(),
            case .stored = try await inbox.append(Self.event("unbound", bound: false)).get()
        else {
            Issue.record("appends failed")
            return
        }
        _ = try await inbox.record(.delivered(id: old, attempts: 1, at: 1_000)).get()
        _ = try await inbox.record(.delivered(id: recent, attempts: 1, at: 9_000)).get()
        #expect(try inbox.purgeDelivered(before: 5_000) == 1)
        let counts = try inbox.statistics().counts
        #expect(counts[.delivered] == 1)
        #expect(counts[.pending] == 1, "pending events are never purged")
        #expect(counts[.unbound] == 1, "unbound events are never purged")
    }

    @Test
    func replayTakesDeadLettersOnly() async throws {
        let inbox = try Self.make()
        defer { inbox.stop() }
        guard case .stored(let dead) = try await inbox.append(Self.event("dead")).get(),
            case .stored(let pending) = try await inbox.append(Self.event("pending")).get()
        else {
            Issue.record("appends failed")
            return
        }
        _ = try await inbox.record(.failed(id: dead, attempts: 3, reason: "backend answered 503", nextAttemptAt: nil))
            .get()
        #expect(try inbox.find(dead)?.lastError == "backend answered 503")
        #expect(try await inbox.replay(ids: [dead, pending], now: 2_000_000) == 1)
        let replayed = try #require(try inbox.find(dead))
        #expect(replayed.state == .pending)
        #expect(replayed.attempts == 0)
        #expect(replayed.nextAttemptAt == 2_000_000)
    }

    @Test
    func aStoppedInboxRefusesAppends() async throws {
        let inbox = try Self.make()
        inbox.stop()
        try await Task.sleep(for: .milliseconds(50))
        guard case .failure = await inbox.append(Self.event("late")) else {
            Issue.record("a stopped inbox accepted an append")
            return
        }
    }
}

/// Revocations outlive the process: a new store on the same file knows them.
struct TokenStoreTests {
    @Test
    func revocationsSurviveARestartAndExpire() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).db").path
        do {
            let store = try TokenStore(database: try Database(path: path, durability: .normal), now: 1_000)
            try store.revoke(kind: "jti", id: "at_1", until: 2_000)
            try store.revoke(kind: "family", id: "fam_1", until: 5_000)
        }
        let reopened = try TokenStore(database: try Database(path: path, durability: .normal), now: 1_500)
        #expect(reopened.isRevoked(jti: "at_1"))
        #expect(reopened.isRevoked(family: "fam_1"))
        #expect(!reopened.isRevoked(jti: "at_2"))
        // Past their expiry they are not loaded (the tokens they named have expired anyway).
        let later = try TokenStore(database: try Database(path: path, durability: .normal), now: 3_000)
        #expect(!later.isRevoked(jti: "at_1"))
        #expect(later.isRevoked(family: "fam_1"))
    }
}
