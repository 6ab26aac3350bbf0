import HTTPCore
import Synchronization

/// Calls to one backend with its resilience around the shared ``HTTPClient``.
///
/// ```
///  call ─► breaker.acquire ──no──► .circuitOpen (at once, names the backend)
///            │ yes
///            ▼
///          bulkhead (maxInFlight) ──full──► .bulkheadFull (at once)
///            │
///            ▼
///          HTTPClient.execute (attempt deadline = min(deadline, now + attemptTimeout))
///            │
///            ▼
///          record outcome (breaker, health) ─► retryable, idempotent, attempts left, and the
///          wait (Retry-After or full jitter) ends before the deadline? ─► sleep, try again
/// ```
public final class BackendClient: Sendable {
    /// The backend.
    public let backend: Backend
    private let client: HTTPClient
    private let state: Mutex<State>
    private let prober = Mutex<Task<Void, Never>?>(nil)

    struct State {
        var breaker: CircuitBreaker
        var health: BackendHealth
        var inFlight = 0
    }

    /// Creates the client for one backend.
    public init(backend: Backend, client: HTTPClient) {
        self.backend = backend
        self.client = client
        self.state = Mutex(
            State(breaker: CircuitBreaker(configuration: backend.breaker), health: BackendHealth(name: backend.name)))
    }

    /// The backend's health as ops see it.
    public var health: BackendHealth {
        state.withLock { state in
            var health = state.health
            health.breaker = state.breaker.state
            health.inFlight = state.inFlight
            health.updateState()
            return health
        }
    }

    /// Calls the backend.
    /// - Parameters:
    ///   - request: the request; a `url` that starts with `/` is appended to the backend's base URL.
    ///   - idempotent: whether the operation may be retried.
    ///   - maxAttempts: attempts in all for this call (the operation's retries + 1); defaults to
    ///     the backend's retry policy.
    ///   - attemptTimeout: the most one attempt may take; nil lets one attempt use the whole deadline.
    ///   - deadline: when the caller stops waiting; no retry is started that would end after it.
    public func call(
        _ request: ClientRequest,
        idempotent: Bool,
        maxAttempts: Int? = nil,
        attemptTimeout: Duration? = nil,
        deadline: ContinuousClock.Instant
    ) async throws(BackendCallError) -> ClientResponse {
        let attemptLimit = max(1, maxAttempts ?? backend.retry.maxAttempts)
        var request = request
        if request.url.hasPrefix("/") { request.url = backend.baseURL + request.url }
        request.tls = backend.tls
        var attempt = 0
        while true {
            let outcome = try await attemptOnce(request, attemptTimeout: attemptTimeout, deadline: deadline)
            let retryable: Bool
            var wait: Duration?
            switch outcome {
            case .success(let response):
                retryable = RetryPolicy.isRetryable(status: response.status)
                wait = response.headers["retry-after"].flatMap { RetryPolicy.retryAfter($0) }
            case .failure(let error):
                retryable = RetryPolicy.isRetryable(error)
            }
            attempt += 1
            guard idempotent, retryable, attempt < attemptLimit, !Task.isCancelled else {
                return try Self.finish(outcome)
            }
            let delay = wait ?? backend.retry.backoff(attempt: attempt - 1)
            // Leave the next attempt at least a little time; otherwise answer with what we have.
            guard ContinuousClock.now + delay + .milliseconds(10) < deadline else { return try Self.finish(outcome) }
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw .transport(CurlEngine.cancelledError)
            }
        }
    }

    private static func finish(_ outcome: Result<ClientResponse, CurlError>) throws(BackendCallError) -> ClientResponse
    {
        switch outcome {
        case .success(let response): return response
        case .failure(let error): throw .transport(error)
        }
    }

    private func attemptOnce(
        _ request: ClientRequest,
        attemptTimeout: Duration?,
        deadline: ContinuousClock.Instant
    ) async throws(BackendCallError) -> Result<ClientResponse, CurlError> {
        let name = backend.name
        let admitted: BackendCallError? = state.withLock { state in
            guard state.breaker.acquire(now: .now) else { return .circuitOpen(backend: name) }
            guard state.inFlight < backend.maxInFlight else {
                state.breaker.releaseTrial()
                return .bulkheadFull(backend: name, limit: backend.maxInFlight)
            }
            state.inFlight += 1
            return nil
        }
        if let admitted { throw admitted }

        let attemptDeadline = attemptTimeout.map { min(deadline, .now + $0) } ?? deadline
        let start = ContinuousClock.now
        let outcome: Result<ClientResponse, CurlError>
        do {
            outcome = .success(try await client.execute(request, deadline: attemptDeadline))
        } catch {
            outcome = .failure(error)
        }
        let latency = start.duration(to: .now)
        state.withLock { state in
            state.inFlight -= 1
            switch outcome {
            case .success(let response) where response.status < 500:
                state.breaker.record(success: true, now: .now)
                state.health.recordSuccess(latency: latency, breaker: state.breaker.state)
            case .success(let response):
                state.breaker.record(success: false, now: .now)
                state.health.recordFailure(reason: "status \(response.status)", breaker: state.breaker.state)
            case .failure(let error) where error.kind == .cancelled:
                // The caller gave up; that says nothing about the backend.
                state.breaker.releaseTrial()
            case .failure(let error):
                state.breaker.record(success: false, now: .now)
                state.health.recordFailure(reason: error.kind.rawValue, breaker: state.breaker.state)
            }
        }
        return outcome
    }

    /// Starts active probes (GET `healthPath` every `probeInterval`); called at boot so health is
    /// known before the first partner call. Probes feed health, not the breaker.
    public func startProbing() {
        guard let path = backend.healthPath else { return }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                await self?.probe(path: path)
                guard let interval = self?.backend.probeInterval else { return }
                try? await Task.sleep(for: interval)
            }
        }
        prober.withLock { existing in
            existing?.cancel()
            existing = task
        }
    }

    /// Stops active probes.
    public func stopProbing() {
        prober.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    private func probe(path: String) async {
        let start = ContinuousClock.now
        let request = ClientRequest(url: backend.baseURL + path, tls: backend.tls)
        do {
            let response = try await client.execute(request, deadline: .now + backend.probeTimeout)
            let latency = start.duration(to: .now)
            state.withLock { state in
                if response.status < 500 {
                    state.health.recordSuccess(latency: latency, breaker: state.breaker.state)
                } else {
                    state.health.recordFailure(reason: "probe status \(response.status)", breaker: state.breaker.state)
                }
            }
        } catch {
            state.withLock { state in
                state.health.recordFailure(reason: "probe \(error.kind.rawValue)", breaker: state.breaker.state)
            }
        }
    }

    deinit {
        prober.withLock { $0?.cancel() }
    }
}
