import Foundation
import PostgresClient
import Synchronization
import TestSupport
import Testing

@testable import CityGate

/// The shared inbox on a real PostgreSQL started by the test: group commit, duplicates across
/// instances, delivery leases taken over when they run out, a server stopped and started again.
@Suite(.serialized)
struct SharedInboxTests {
    /// A settable clock, so lease expiry is tested without waiting for it.
    final class Clock: Sendable {
        let now = Atomic<Int64>(1_000_000)
        var read: @Sendable () -> Int64 { { [self] in self.now.load(ordering: .relaxed) } }
    }

    static func event(_ key: String, ordering: String? = nil, bound: Bool = true) -> Inbox.NewEvent {
        var event = InboxTests.event(key, bound: bound)
        event.orderingKey = ordering
        return event
    }

    static func stored(_ result: Result<Inbox.Appended, InboxError>) -> Int64? {
        if case .success(.stored(let id)) = result { return id }
        return nil
    }

    @Test
    func appendsCommitOnceAcrossInstancesAndKeepTheirBytes() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let first = try SharedInbox(url: server.url, owner: "a")
        let second = try SharedInbox(url: server.url, owner: "b")
        defer {
            first.stop()
            second.stop()
        }
        // 200 keys, each sent to both instances at once: one stored, one duplicate, same id.
        let outcomes = await withTaskGroup(
            of: (Result<Inbox.Appended, InboxError>, Result<Inbox.Appended, InboxError>).self
        ) {
            group in
            for index in 0..<200 {
                group.addTask {
                    async let one = first.append(Self.event("k\(index)"))
                    async let two = second.append(Self.event("k\(index)"))
                    return await (one, two)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (one, two) in outcomes {
            switch (try one.get(), try two.get()) {
            case (.stored(let a), .duplicate(let b)), (.duplicate(let b), .stored(let a)): #expect(a == b)
            default: Issue.record("expected one stored and one duplicate, got \(one) and \(two)")
            }
        }
        #expect(try await server.psql("SELECT count(*) FROM citygate_event") == "200")
        // Bytes round-trip exactly (bytea in binary, read back from hex), every byte value.
        var binary = InboxTests.event("binary")
        binary.rawRequest = (0...255).map { UInt8($0) }
        binary.payload = Array(#"{"名":"城市"}"#.utf8)
        let id = try #require(Self.stored(await first.append(binary)))
        let found = try #require(try await second.find(id))
        #expect(found.rawRequest == binary.rawRequest)
        #expect(found.payload == binary.payload)
        #expect(found.eventKey == "binary")
        #expect(found.deliveredAt == nil)
    }

    @Test
    func oneBadEventFailsAloneInItsBatch() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let inbox = try SharedInbox(url: server.url, owner: "a")
        defer { inbox.stop() }
        // A NUL cannot be stored in PostgreSQL text: that append fails, its batch-mates commit.
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for key in ["good-1", "bad\u{0}key", "good-2", "good-3"] {
                group.addTask { (key, Self.stored(await inbox.append(Self.event(key))) != nil) }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(results == ["good-1": true, "bad\u{0}key": false, "good-2": true, "good-3": true])
        #expect(try await server.psql("SELECT count(*) FROM citygate_event") == "3")
    }

    @Test
    func claimsAreDisjointAndALeaseThatRunsOutIsTakenOver() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let clock = Clock()
        let a = try SharedInbox(url: server.url, owner: "a", clock: clock.read)
        let b = try SharedInbox(url: server.url, owner: "b", clock: clock.read)
        defer {
            a.stop()
            b.stop()
        }
        var ids: [Int64] = []
        for index in 0..<40 { ids.append(try #require(Self.stored(await a.append(Self.event("e\(index)"))))) }
        _ = try #require(Self.stored(await a.append(Self.event("unbound", bound: false))))
        let now = clock.read()
        async let fromA = a.claim(now: now, limit: 25, inFlight: 0, leaseMilliseconds: 30_000)
        async let fromB = b.claim(now: now, limit: 25, inFlight: 0, leaseMilliseconds: 30_000)
        let (claimedA, claimedB) = try await (fromA, fromB)
        let setA = Set(claimedA.map(\.id))
        let setB = Set(claimedB.map(\.id))
        #expect(setA.isDisjoint(with: setB), "two instances claimed the same event")
        #expect(setA.union(setB) == Set(ids), "every due event claimed once, the unbound one never")
        // Everything due is leased: nothing more to claim.
        #expect(try await b.claim(now: now, limit: 100, inFlight: 0, leaseMilliseconds: 30_000).isEmpty)
        // A records its outcomes; B records none and "dies": after its lease, A takes B's over.
        for event in claimedA { await a.record(.delivered(id: event.id, attempts: 1, at: now)) }
        clock.now.add(29_000, ordering: .relaxed)
        #expect(try await a.claim(now: clock.read(), limit: 100, inFlight: 0, leaseMilliseconds: 30_000).isEmpty)
        clock.now.add(2_000, ordering: .relaxed)
        let takenOver = try await a.claim(now: clock.read(), limit: 100, inFlight: 0, leaseMilliseconds: 30_000)
        #expect(Set(takenOver.map(\.id)) == setB)
        for event in takenOver { await a.record(.delivered(id: event.id, attempts: 1, at: clock.read())) }

        // One ordering key: only its oldest pending event is ever claimable, by anyone.
        let first = try #require(Self.stored(await a.append(Self.event("o1", ordering: "case-1"))))
        let second = try #require(Self.stored(await b.append(Self.event("o2", ordering: "case-1"))))
        let other = try #require(Self.stored(await b.append(Self.event("p1", ordering: "case-2"))))
        let heads = try await a.claim(now: clock.read(), limit: 100, inFlight: 0, leaseMilliseconds: 30_000)
        #expect(heads.map(\.id) == [first, other])
        #expect(try await b.claim(now: clock.read(), limit: 100, inFlight: 0, leaseMilliseconds: 30_000).isEmpty)
        // Retried later, the head still holds its successor back.
        await a.record(
            .failed(id: first, attempts: 1, reason: "backend answered 503", nextAttemptAt: clock.read() + 5_000))
        #expect(try await b.claim(now: clock.read(), limit: 100, inFlight: 0, leaseMilliseconds: 30_000).isEmpty)
        clock.now.add(5_000, ordering: .relaxed)
        #expect(
            try await b.claim(now: clock.read(), limit: 100, inFlight: 0, leaseMilliseconds: 30_000).map(\.id) == [
                first
            ])
        await b.record(.delivered(id: first, attempts: 2, at: clock.read()))
        #expect(
            try await a.claim(now: clock.read(), limit: 100, inFlight: 0, leaseMilliseconds: 30_000).map(\.id) == [
                second
            ])
        let statistics = try await b.statistics()
        #expect(statistics.counts[.delivered] == 41)
        #expect(statistics.counts[.unbound] == 1)
        #expect(statistics.counts[.pending] == 2)
    }

    @Test
    func aRestartedInstanceReleasesItsOldLeasesAndDeadLettersReplay() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let clock = Clock()
        let before = try SharedInbox(url: server.url, owner: "same", clock: clock.read)
        let id = try #require(Self.stored(await before.append(Self.event("leased"))))
        let dead = try #require(Self.stored(await before.append(Self.event("dead"))))
        let claimed = try await before.claim(now: clock.read(), limit: 10, inFlight: 0, leaseMilliseconds: 60_000)
        #expect(Set(claimed.map(\.id)) == [id, dead])
        await before.record(.failed(id: dead, attempts: 3, reason: "backend answered 503", nextAttemptAt: nil))
        before.stop()
        // Same owner (same data directory) again: its lease on "leased" is released at start.
        let after = try SharedInbox(url: server.url, owner: "same", clock: clock.read)
        defer { after.stop() }
        let again = try await after.claim(now: clock.read(), limit: 10, inFlight: 0, leaseMilliseconds: 60_000)
        #expect(again.map(\.id) == [id])
        #expect(try await after.find(dead)?.lastError == "backend answered 503")
        #expect(try await after.replay(ids: [dead, id], now: clock.read()) == 1)
        let replayed = try #require(try await after.find(dead))
        #expect(replayed.state == .pending)
        #expect(replayed.attempts == 0)
        #expect(try await after.list(state: .pending, limit: 10).map(\.id) == [dead, id])
    }

    @Test
    func aStoppedServerRefusesAppendsAndTheInboxRecoversWithoutARestart() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let inbox = try SharedInbox(url: server.url, owner: "a")
        defer { inbox.stop() }
        #expect(Self.stored(await inbox.append(Self.event("before"))) != nil)
        try await server.stop()
        guard case .failure(let error) = await inbox.append(Self.event("during")) else {
            Issue.record("an append was acknowledged with the server stopped")
            return
        }
        #expect(error.code.hasPrefix("postgres:"))
        #expect(await inbox.probe() == false)
        try await server.start()
        let recovered = await eventually(timeout: .seconds(10), every: .milliseconds(200)) {
            Self.stored(await inbox.append(Self.event("after"))) != nil
        }
        #expect(recovered)
        #expect(await inbox.probe())
        #expect(
            try await server.psql("SELECT string_agg(event_key, ',' ORDER BY id) FROM citygate_event") == "before,after"
        )
    }

    /// A server that stops answering without closing its connections: `/readyz`'s probe says
    /// so within its one-second bound instead of hanging on the query.
    @Test
    func theProbeOfAFrozenServerAnswersWithinASecond() async throws {
        let server = try await PostgresServer()
        defer { server.destroyNow() }
        let inbox = try SharedInbox(url: server.url, owner: "a")
        defer { inbox.stop() }
        #expect(await inbox.probe())
        server.freeze(true)
        defer { server.freeze(false) }
        let started = ContinuousClock.now
        #expect(await inbox.probe() == false)
        let waited = started.duration(to: .now)
        #expect(waited < .seconds(2), "the probe waited \(waited)")
        server.freeze(false)
        let back = await eventually(timeout: .seconds(15), every: .milliseconds(250)) { await inbox.probe() }
        #expect(back, "answers again once the server does")
    }
}
