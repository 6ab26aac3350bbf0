import Testing

@testable import CityGate

/// The in-memory authority for short-window replay records.
@Suite struct ReplayWindowTests {
    @Test
    func aKeyIsAReplayUntilItExpiresAndThenLeavesMemory() {
        var window = ReplayWindow(capacity: 100)
        let decision1 = window.decide(scope: "p", key: "k", now: 1000, lifetime: 10)
        #expect(decision1 != .replay)
        let decision2 = window.decide(scope: "p", key: "k", now: 1009, lifetime: 10)
        #expect(decision2 == .replay)
        let decision3 = window.decide(scope: "q", key: "k", now: 1009, lifetime: 10)
        #expect(decision3 != .replay, "scopes are separate")
        #expect(window.count == 2)
        let decision4 = window.decide(scope: "p", key: "k", now: 1010, lifetime: 10)
        #expect(decision4 != .replay, "expired: new again")
        window.expire(now: 1030)
        #expect(window.count == 0, "the expiry queues emptied the window")
    }

    @Test
    func longLifetimesAndTheirScopeGoToTheTableUntilTheyExpire() {
        var window = ReplayWindow(capacity: 100)
        let decision5 = window.decide(scope: "alipay", key: "a", now: 1000, lifetime: 48 * 3600)
        #expect(decision5 == .table)
        // The table may hold keys of this scope the window never saw: ask it too, until then.
        let decision6 = window.decide(scope: "alipay", key: "b", now: 1001, lifetime: 60)
        #expect(decision6 == .table)
        let decision7 = window.decide(scope: "webhooks", key: "b", now: 1001, lifetime: 60)
        #expect(decision7 != .table)
        let decision8 = window.decide(scope: "alipay", key: "c", now: 1000 + 48 * 3600, lifetime: 60)
        #expect(decision8 != .table)
    }

    @Test
    func aFullWindowSendsNewRecordsToTheTable() {
        var window = ReplayWindow(capacity: 2)
        let decision9 = window.decide(scope: "p", key: "1", now: 1000, lifetime: 60)
        #expect(decision9 != .table)
        let decision10 = window.decide(scope: "p", key: "2", now: 1000, lifetime: 60)
        #expect(decision10 != .table)
        let decision11 = window.decide(scope: "p", key: "3", now: 1000, lifetime: 60)
        #expect(decision11 == .table)
        let decision12 = window.decide(scope: "p", key: "1", now: 1001, lifetime: 60)
        #expect(decision12 == .replay, "held ones still answer")
    }

    @Test
    func aReleasedClaimIsNewAgain() throws {
        var window = ReplayWindow(capacity: 10)
        guard case .window(let digest) = window.decide(scope: "p", key: "k", now: 1000, lifetime: 60) else {
            Issue.record("expected a window claim")
            return
        }
        window.release(digest, expiresAt: 1060)
        let decision13 = window.decide(scope: "p", key: "k", now: 1001, lifetime: 60)
        #expect(decision13 != .replay)
    }

    @Test
    func loadedRecordsAnswerAndExpire() {
        var window = ReplayWindow(capacity: 2)
        let loaded14 = window.load(scope: "p", key: "a", expiresAt: 1100)
        #expect(loaded14)
        let loaded15 = window.load(scope: "p", key: "b", expiresAt: 1200)
        #expect(loaded15)
        let loaded16 = window.load(scope: "p", key: "c", expiresAt: 1300)
        #expect(!loaded16, "full: the caller moves it to the table")
        let decision17 = window.decide(scope: "p", key: "a", now: 1050, lifetime: 60)
        #expect(decision17 == .replay)
        let decision18 = window.decide(scope: "p", key: "c", now: 1050, lifetime: 60)
        #expect(decision18 == .table, "its scope has table rows")
        window.expire(now: 1150)
        #expect(window.count == 1)
    }
}
