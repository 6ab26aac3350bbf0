import Foundation
import HTTPClient
import Testing

struct CircuitBreakerTests {
    let start = ContinuousClock.now
    let configuration = CircuitBreaker.Configuration(
        windowSize: 10, minimumRequests: 4, failureRatio: 0.5, openDuration: .seconds(5), halfOpenTrials: 2)

    @Test
    func staysClosedBelowTheMinimumNumberOfRequests() {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<3 {
            let allowed1 = breaker.acquire(now: start)
            #expect(allowed1)
            breaker.record(success: false, now: start)
        }
        #expect(breaker.state == .closed)
    }

    @Test
    func opensAtTheFailureRatioAndFailsFast() {
        var breaker = CircuitBreaker(configuration: configuration)
        for success in [true, false, true, false] {
            _ = breaker.acquire(now: start)
            breaker.record(success: success, now: start)
        }
        #expect(breaker.state == .open)
        let allowed2 = breaker.acquire(now: start + .seconds(4))
        #expect(!allowed2)
    }

    @Test
    func halfOpensAfterTheOpenDurationWithLimitedTrials() {
        var breaker = opened()
        let allowed3 = breaker.acquire(now: start + .seconds(5))
        #expect(allowed3)
        #expect(breaker.state == .halfOpen)
        let allowed4 = breaker.acquire(now: start + .seconds(5))
        #expect(allowed4)
        let allowed5 = breaker.acquire(now: start + .seconds(5))
        #expect(!allowed5, "only two trials at once")
    }

    @Test
    func closesWhenEveryTrialSucceeds() {
        var breaker = opened()
        _ = breaker.acquire(now: start + .seconds(6))
        _ = breaker.acquire(now: start + .seconds(6))
        breaker.record(success: true, now: start + .seconds(6))
        #expect(breaker.state == .halfOpen)
        breaker.record(success: true, now: start + .seconds(6))
        #expect(breaker.state == .closed)
        let allowed6 = breaker.acquire(now: start + .seconds(6))
        #expect(allowed6)
    }

    @Test
    func reopensWhenATrialFails() {
        var breaker = opened()
        _ = breaker.acquire(now: start + .seconds(6))
        breaker.record(success: false, now: start + .seconds(6))
        #expect(breaker.state == .open)
        let allowed7 = breaker.acquire(now: start + .seconds(10))
        #expect(!allowed7, "a fresh open period started at the failed trial")
        let allowed8 = breaker.acquire(now: start + .seconds(11))
        #expect(allowed8)
    }

    @Test
    func releasedTrialFreesItsPlace() {
        var breaker = opened()
        _ = breaker.acquire(now: start + .seconds(6))
        _ = breaker.acquire(now: start + .seconds(6))
        breaker.releaseTrial()
        let allowed9 = breaker.acquire(now: start + .seconds(6))
        #expect(allowed9)
    }

    /// 8 failures in 22 outcomes would be 36 % overall; the last 10 hold 5 failures (50 %).
    @Test
    func ratioIsJudgedOverTheLastWindowOnly() {
        var breaker = CircuitBreaker(configuration: configuration)
        let outcomes =
            Array(repeating: true, count: 4) + Array(repeating: false, count: 3)
            + Array(repeating: true, count: 10) + Array(repeating: false, count: 4)
        for success in outcomes {
            _ = breaker.acquire(now: start)
            breaker.record(success: success, now: start)
        }
        #expect(breaker.state == .closed, "4 failures in the last 10")
        _ = breaker.acquire(now: start)
        breaker.record(success: false, now: start)
        #expect(breaker.state == .open, "5 failures in the last 10")
    }

    func opened() -> CircuitBreaker {
        var breaker = CircuitBreaker(configuration: configuration)
        for _ in 0..<4 {
            _ = breaker.acquire(now: start)
            breaker.record(success: false, now: start)
        }
        return breaker
    }
}

struct RetryPolicyTests {
    @Test(arguments: [0, 1, 2, 3, 10, 40])
    func backoffIsFullJitterUnderTheCappedCeiling(attempt: Int) {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << min(attempt, 30)))
        #expect(policy.backoff(attempt: attempt, random: 0) == .zero)
        #expect(policy.backoff(attempt: attempt, random: 1) == ceiling)
        for _ in 0..<50 {
            let delay = policy.backoff(attempt: attempt)
            #expect(delay >= .zero && delay <= ceiling)
        }
    }

    @Test(
        arguments: [
            ("0", 0), ("3", 3000), (" 12 ", 12000), ("-1", nil), ("soon", nil), ("1.5", nil),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 0),
        ] as [(String, Int?)])
    func parsesRetryAfter(value: String, milliseconds: Int?) {
        #expect(RetryPolicy.retryAfter(value).map { Int($0.components.seconds * 1000) } == milliseconds)
    }

    @Test
    func parsesRetryAfterDateInTheFuture() throws {
        let now = Date(timeIntervalSince1970: 1_445_412_470)  // 2015-10-21 07:27:50 GMT
        let wait = try #require(RetryPolicy.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: now))
        #expect(wait == .seconds(10))
    }

    @Test
    func classifiesRetryableFailures() {
        #expect(RetryPolicy.isRetryable(CurlError(kind: .connectRefused, message: "")))
        #expect(RetryPolicy.isRetryable(CurlError(kind: .timeout, message: "")))
        #expect(!RetryPolicy.isRetryable(CurlError(kind: .tls, message: "")))
        #expect(!RetryPolicy.isRetryable(CurlError(kind: .tooLarge, message: "")))
        #expect([502, 503, 504].allSatisfy(RetryPolicy.isRetryable(status:)))
        #expect(![200, 400, 404, 429, 500, 501].contains(where: RetryPolicy.isRetryable(status:)))
    }
}
