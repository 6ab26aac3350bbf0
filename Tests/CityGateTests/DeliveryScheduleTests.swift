import Foundation
import Testing

@testable import CityGate

/// The delivery schedule: full jitter under an exponential ceiling, `Retry-After` honoured up to
/// the cap, no wait after the last attempt, and per-backend overrides over the gateway's defaults.
struct DeliveryScheduleTests {
    static let schedule = DeliverySchedule(maxAttempts: 5, initialDelayMilliseconds: 100, maxDelayMilliseconds: 1_000)

    /// (attempt that failed, Retry-After ms, the ceiling the jitter is drawn under, expected wait
    /// when the draw returns its ceiling)
    @Test(
        arguments: [
            (1, nil, 100, 100), (2, nil, 200, 200), (3, nil, 400, 400), (4, nil, 800, 800),
            (2, 700, 200, 700),  // Retry-After longer than the backoff wins
            (2, 5_000, 200, 1_000),  // … but never past maxDelay
            (3, 10, 400, 400),  // a shorter Retry-After does not shorten the backoff
        ] as [(Int, Int?, Int, Int)])
    func waits(attempt: Int, retryAfter: Int?, ceiling: Int, expected: Int) {
        var drawnUnder: Int?
        let wait = Self.schedule.delay(afterAttempt: attempt, retryAfterMilliseconds: retryAfter) { bound in
            drawnUnder = bound
            return bound
        }
        #expect(drawnUnder == ceiling)
        #expect(wait == expected)
    }

    @Test
    func fullJitterCanWaitNothing() {
        #expect(Self.schedule.delay(afterAttempt: 3, retryAfterMilliseconds: nil) { _ in 0 } == 0)
    }

    @Test
    func theLastAttemptIsFollowedByNoWait() {
        #expect(Self.schedule.delay(afterAttempt: 5, retryAfterMilliseconds: 100) { $0 } == nil)
        #expect(Self.schedule.delay(afterAttempt: 6, retryAfterMilliseconds: nil) { $0 } == nil)
    }

    @Test
    func hugeAttemptCountsStayAtTheCap() {
        let long = DeliverySchedule(maxAttempts: 100, initialDelayMilliseconds: 1_000, maxDelayMilliseconds: 600_000)
        #expect(long.delay(afterAttempt: 90, retryAfterMilliseconds: nil) { $0 } == 600_000)
    }

    @Test
    func aBackendOverrideAppliesOverTheGatewayDefaults() throws {
        let tree = try ManifestSetTests.brokenTree([
            "gateway.json": { $0["events"] = ["maxAttempts": 4, "initialDelayMs": 50, "maxDelayMs": 5_000] },
            "cities/330100.json": { city in
                var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                backends["approvals"]?["delivery"] = ["maxAttempts": 9]
                city["backends"] = backends
            },
        ])
        let set = try ManifestSet.load(directory: tree).get()
        let base = set.events.schedule
        #expect(base == DeliverySchedule(maxAttempts: 4, initialDelayMilliseconds: 50, maxDelayMilliseconds: 5_000))
        let override = try #require(set.cities["330100"]?.backends["approvals"]?.deliveryOverride)
        #expect(
            override.applied(to: base)
                == DeliverySchedule(maxAttempts: 9, initialDelayMilliseconds: 50, maxDelayMilliseconds: 5_000))
        #expect(set.cities["330100"]?.backends["hrss"]?.deliveryOverride == nil)
    }

    @Test
    func badSchedulesAreConfigErrors() throws {
        let problems = try ManifestSetTests.problems([
            "gateway.json": { $0["events"] = ["initialDelayMs": 5_000, "maxDelayMs": 100, "retries": 3] },
            "cities/330100.json": { city in
                var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                backends["approvals"]?["delivery"] = ["maxAttempts": 0]
                city["backends"] = backends
            },
        ])
        for expected in [
            "gateway.json: $.events.maxDelayMs: must not be below initialDelayMs",
            "cities/330100.json: $.backends.approvals.delivery.maxAttempts: must be between 1 and 100",
        ] {
            #expect(problems.contains(expected), "\(expected) in \(problems)")
        }
        #expect(problems.contains { $0.hasPrefix("gateway.json: $.events.retries: unknown field") }, "\(problems)")
    }
}
