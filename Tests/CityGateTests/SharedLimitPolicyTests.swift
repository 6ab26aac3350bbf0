import EventLoops
import Foundation
import RedisClient
import TestSupport
import Testing

@testable import CityGate

/// `state.rateLimits` when Redis cannot be reached: fail-open decides on the instance's own
/// limiter, fail-closed decides nothing (the stage answers 503 `state-unavailable`). Redis here is
/// a port nothing listens on.
struct SharedLimitPolicyTests {
    @Test(arguments: [true, false])
    func anUnreachableRedisFollowsThePolicy(failOpen: Bool) async throws {
        let group = try EventLoopGroup(threadCount: 1)
        defer { group.shutdown() }
        let redis = try RedisClient(url: "redis://127.0.0.1:\(try RawClient.unusedPort())", loops: group)
        let limiter = RateLimiter()
        limiter.share(RedisRateLimits(redis: redis, failOpen: failOpen))
        let rule = RateLimiter.Rule(key: "service:x", policy: "service", limit: 1, periodSeconds: 60, burst: 0)
        let first = await limiter.decide([rule], now: 1_000_000_000)
        let second = await limiter.decide([rule], now: 1_000_000_001)
        if failOpen {
            #expect(first?.allowed == true && second?.allowed == false, "the instance's own limiter decides")
        } else {
            #expect(first == nil && second == nil, "nothing is decided without Redis")
        }
        #expect(limiter.keyCount == (failOpen ? 1 : 0))
        await redis.shutdown()
    }
}
