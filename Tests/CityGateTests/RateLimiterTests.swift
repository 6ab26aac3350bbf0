import CityGate
import Foundation
import Testing

/// GCRA on a simulated clock: deterministic, so the accuracy contract is checked exactly.
struct RateLimiterTests {
    static let second: Int64 = 1_000_000_000

    @Test
    func burstIsAdmittedAtOnceThenTheRate() {
        let limiter = RateLimiter()
        let rule = RateLimiter.Rule(key: "partner:a", policy: "partner", limit: 10, periodSeconds: 1, burst: 5)
        let admitted = (0..<10).filter { _ in limiter.check([rule], now: 0).allowed }.count
        #expect(admitted == 6, "burst + 1 at once")
        let refused = limiter.check([rule], now: 0)
        #expect(!refused.allowed)
        #expect(refused.retryAfterSeconds == 1)
        #expect(limiter.check([rule], now: Self.second / 10).allowed, "one more after one interval")
    }

    struct Accuracy: CustomStringConvertible, Sendable {
        let scope: String
        let limit: Int
        let period: Int
        let burst: Int
        var description: String { "\(scope) \(limit)/\(period)s burst \(burst)" }
    }

    /// Over a 10 s run at 3× the limit, admitted requests are within ±2 % of rate × 10 s + burst.
    @Test(arguments: [
        Accuracy(scope: "partner", limit: 500, period: 1, burst: 1000),
        Accuracy(scope: "city", limit: 300, period: 1, burst: 600),
        Accuracy(scope: "service", limit: 50, period: 1, burst: 0),
        Accuracy(scope: "operation", limit: 120, period: 60, burst: 10),
        Accuracy(scope: "subject", limit: 10, period: 60, burst: 0),
        Accuracy(scope: "ip", limit: 1000, period: 10, burst: 50),
    ])
    func admitsTheConfiguredRatePlusBurstWithinTwoPercent(_ accuracy: Accuracy) {
        let limiter = RateLimiter()
        let rule = RateLimiter.Rule(
            key: "\(accuracy.scope):k", policy: accuracy.scope, limit: accuracy.limit, periodSeconds: accuracy.period,
            burst: accuracy.burst)
        let ratePerSecond = Double(accuracy.limit) / Double(accuracy.period)
        let offered = Int(ratePerSecond * 3 * 10)
        var admitted = 0
        for index in 0..<offered {
            let now = Int64(Double(index) / (ratePerSecond * 3) * 1e9)
            if limiter.check([rule], now: now).allowed { admitted += 1 }
        }
        let expected = ratePerSecond * 10 + Double(accuracy.burst)
        #expect(abs(Double(admitted) - expected) <= expected * 0.02 + 1, "admitted \(admitted), expected \(expected)")
    }

    @Test
    func aRefusalChargesNoOtherLimit() {
        let limiter = RateLimiter()
        let wide = RateLimiter.Rule(key: "city:330100", policy: "city", limit: 3, periodSeconds: 1, burst: 2)
        let narrow = RateLimiter.Rule(key: "subject:s1", policy: "subject", limit: 1, periodSeconds: 1)
        #expect(limiter.check([wide, narrow], now: 0).allowed)
        for _ in 0..<10 { #expect(!limiter.check([wide, narrow], now: 0).allowed, "refused by the subject limit") }
        // The city limit was charged once only: two more requests from others still fit.
        let other = RateLimiter.Rule(key: "subject:s2", policy: "subject", limit: 1, periodSeconds: 1)
        #expect(limiter.check([wide, other], now: 0).allowed)
        #expect(limiter.check([wide], now: 0).allowed)
        #expect(!limiter.check([wide], now: 0).allowed)
    }

    @Test
    func remainingAndResetDescribeTheTightestRule() {
        let limiter = RateLimiter()
        let loose = RateLimiter.Rule(key: "a", policy: "partner", limit: 100, periodSeconds: 1, burst: 99)
        let tight = RateLimiter.Rule(key: "b", policy: "subject", limit: 2, periodSeconds: 10, burst: 1)
        let first = limiter.check([loose, tight], now: 0)
        #expect(first.allowed && first.rule?.policy == "subject" && first.remaining == 1)
        let second = limiter.check([loose, tight], now: 0)
        #expect(second.allowed && second.remaining == 0 && second.resetSeconds == 10)
        let third = limiter.check([loose, tight], now: 0)
        #expect(!third.allowed && third.retryAfterSeconds == 5)
    }

    @Test
    func concurrentRequestsNeverExceedTheLimit() async {
        let limiter = RateLimiter()
        let rule = RateLimiter.Rule(key: "k", policy: "partner", limit: 100, periodSeconds: 3600, burst: 99)
        let admitted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<1000).filter { _ in limiter.check([rule], now: 0).allowed }.count }
            }
            return await group.reduce(0, +)
        }
        #expect(admitted == 100)
    }

    @Test
    func memoryStaysBoundedOverAMillionDistinctSubjects() {
        let limiter = RateLimiter(maxKeys: 100_000)
        let before = Self.residentBytes()
        // A million citizens, one call each, 1,000 per simulated millisecond; each key goes idle
        // 100 ms after its call, so at most ~100,000 are ever live.
        for index in 0..<1_000_000 {
            let now = Int64(index / 1000) * 1_000_000
            let rule = RateLimiter.Rule(key: "subject:\(index)", policy: "subject", limit: 10, periodSeconds: 1)
            #expect(limiter.check([rule], now: now).allowed)
        }
        #expect(limiter.keyCount <= 100_000, "keys held: \(limiter.keyCount)")
        // Reported, not asserted (memory targets belong in benchmarks): the process's growth.
        print(
            "rate limiter: 1,000,000 distinct subjects, \(limiter.keyCount) keys held, resident memory +\((Self.residentBytes() - before) / 1_048_576) MiB"
        )
        limiter.evictIdle(now: 2_000 * 1_000_000)
        #expect(limiter.keyCount == 0)
    }

    /// Resident set size of this process (`/proc/self/statm`).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }
}
