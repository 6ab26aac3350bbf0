import Foundation
import HTTPClient
import HTTPCore
import TestSupport
import Testing

/// Retries, breaker, bulkhead and health against real backends on loopback.
struct BackendClientTests {
    static let fastRetry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20))

    func soon() -> ContinuousClock.Instant { .now + .seconds(5) }

    @Test
    func fiveHundredThreeIsRetriedOnlyWhenIdempotent() async throws {
        let fixture = try BackendFixture()
        let backend = BackendClient(
            backend: Backend(name: "hrss", baseURL: fixture.baseURL, retry: Self.fastRetry),
            client: HTTPClientTests.client)
        let idempotent = try await backend.call(
            ClientRequest(url: "/status?code=503"), idempotent: true, deadline: soon())
        #expect(idempotent.status == 503)
        #expect(fixture.hits.count("/status") == 3)
        let once = try await backend.call(ClientRequest(url: "/status?code=503"), idempotent: false, deadline: soon())
        #expect(once.status == 503)
        #expect(fixture.hits.count("/status") == 4, "a non-idempotent call is made exactly once")
        _ = try await backend.call(ClientRequest(url: "/status?code=500"), idempotent: true, deadline: soon())
        #expect(fixture.hits.count("/status") == 5, "500 is not retried")
        await fixture.stop()
    }

    @Test
    func connectionRefusedIsRetriedThenReported() async throws {
        let port = try RawClient.unusedPort()
        let backend = BackendClient(
            backend: Backend(name: "down", baseURL: "http://127.0.0.1:\(port)", retry: Self.fastRetry),
            client: HTTPClientTests.client)
        do {
            _ = try await backend.call(ClientRequest(url: "/x"), idempotent: true, deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.transportError?.kind == .connectRefused)
        }
        #expect(backend.health.consecutiveFailures == 3)
        #expect(backend.health.state == .down)
        #expect(backend.health.lastFailureReason == "connect-refused")
    }

    @Test
    func retryAfterIsHonouredWithinTheDeadline() async throws {
        let fixture = try BackendFixture()
        let backend = BackendClient(
            backend: Backend(name: "slow-to-recover", baseURL: fixture.baseURL, retry: Self.fastRetry),
            client: HTTPClientTests.client)
        let start = ContinuousClock.now
        let response = try await backend.call(
            ClientRequest(url: "/status?code=503&retryAfter=1"), idempotent: true, deadline: .now + .seconds(5))
        #expect(response.status == 503)
        #expect(fixture.hits.count("/status") == 3, "\(backend.health) \(response.headers)")
        #expect(ContinuousClock.now - start >= .seconds(2), "two waits of one second each, as the backend asked")
        // With a deadline shorter than Retry-After, the call answers at once instead of waiting.
        let quick = ContinuousClock.now
        _ = try await backend.call(
            ClientRequest(url: "/status?code=503&retryAfter=30"), idempotent: true, deadline: .now + .seconds(2))
        #expect(ContinuousClock.now - quick < .seconds(1))
        #expect(fixture.hits.count("/status") == 4)
        await fixture.stop()
    }

    @Test
    func attemptTimeoutLeavesRoomForARetry() async throws {
        let fixture = try BackendFixture()
        let backend = BackendClient(
            backend: Backend(name: "sleepy", baseURL: fixture.baseURL, retry: Self.fastRetry),
            client: HTTPClientTests.client)
        do {
            _ = try await backend.call(
                ClientRequest(url: "/delay?ms=2000"), idempotent: true, attemptTimeout: .milliseconds(200),
                deadline: .now + .seconds(1))
            Issue.record("expected a timeout")
        } catch {
            #expect(error.transportError?.kind == .timeout)
        }
        #expect(fixture.hits.count("/delay") >= 2)
        await fixture.stop()
    }

    @Test
    func breakerOpensFailsFastHalfOpensAndCloses() async throws {
        let fixture = try BackendFixture()
        let breaker = CircuitBreaker.Configuration(
            windowSize: 4, minimumRequests: 4, failureRatio: 0.5, openDuration: .milliseconds(300), halfOpenTrials: 1)
        let backend = BackendClient(
            backend: Backend(
                name: "flaky", baseURL: fixture.baseURL, retry: RetryPolicy(maxAttempts: 1), breaker: breaker),
            client: HTTPClientTests.client)
        for _ in 0..<4 {
            _ = try await backend.call(ClientRequest(url: "/status?code=500"), idempotent: true, deadline: soon())
        }
        #expect(backend.health.breaker == .open)
        let hitsWhenOpened = fixture.hits.count("/status")
        let start = ContinuousClock.now
        do {
            _ = try await backend.call(ClientRequest(url: "/ok"), idempotent: true, deadline: soon())
            Issue.record("expected the breaker to refuse")
        } catch {
            #expect(error == .circuitOpen(backend: "flaky"), "the gateway's refusal, not a libcurl error")
            #expect(error.description.contains("'flaky'"))
        }
        #expect(ContinuousClock.now - start < .milliseconds(50), "an open breaker answers at once")
        #expect(fixture.hits.count("/ok") == 0)
        try await Task.sleep(for: .milliseconds(350))
        let trial = try await backend.call(ClientRequest(url: "/ok"), idempotent: true, deadline: soon())
        #expect(trial.status == 200)
        #expect(backend.health.breaker == .closed)
        #expect(backend.health.state == .healthy)
        #expect(fixture.hits.count("/status") == hitsWhenOpened)
        await fixture.stop()
    }

    @Test
    func bulkheadRejectsPastItsLimitWhileOtherBackendsStillWork() async throws {
        let fixture = try BackendFixture()
        let slow = BackendClient(
            backend: Backend(name: "slow", baseURL: fixture.baseURL, maxInFlight: 2), client: HTTPClientTests.client)
        let other = BackendClient(
            backend: Backend(name: "other", baseURL: fixture.baseURL), client: HTTPClientTests.client)
        async let first = slow.call(ClientRequest(url: "/delay?ms=600"), idempotent: false, deadline: soon())
        async let second = slow.call(ClientRequest(url: "/delay?ms=600"), idempotent: false, deadline: soon())
        try await Task.sleep(for: .milliseconds(150))
        do {
            _ = try await slow.call(ClientRequest(url: "/ok"), idempotent: false, deadline: soon())
            Issue.record("expected the bulkhead to refuse")
        } catch {
            #expect(error == .bulkheadFull(backend: "slow", limit: 2))
        }
        let meanwhile = try await other.call(ClientRequest(url: "/ok"), idempotent: false, deadline: soon())
        #expect(meanwhile.status == 200)
        #expect(try await first.status == 200)
        #expect(try await second.status == 200)
        #expect(slow.health.inFlight == 0)
        await fixture.stop()
    }

    @Test
    func probesStartWithoutAnyRequestAndReportHealth() async throws {
        let fixture = try BackendFixture()
        let backend = BackendClient(
            backend: Backend(
                name: "probed", baseURL: fixture.baseURL, healthPath: "/ok", probeInterval: .milliseconds(100)),
            client: HTTPClientTests.client)
        #expect(backend.health.state == .unknown)
        backend.startProbing()
        #expect(await eventually { fixture.hits.count("/ok") >= 2 }, "probes repeat without any request")
        #expect(await eventually { backend.health.state == .healthy })
        #expect(backend.health.lastSuccessAt != nil)
        #expect(backend.health.recentLatencyMilliseconds != nil)
        await fixture.stop()
        #expect(await eventually { backend.health.state == .down }, "three failed probes in a row")
        #expect(backend.health.lastFailureReason?.hasPrefix("probe ") == true)
        backend.stopProbing()
    }
}
