import Cryptography
import HTTPClient
import HTTPCore

/// Builds and sends the backend request of a manifest operation: the one path for partner calls
/// and event deliveries (and, later, case pushes), so every backend request gets the same headers,
/// trace context, timeout ceiling, duration metric and error type.
///
/// ```
///  operation.request + TemplateContext ─► BackendRequestBuilder ─► + X-Request-Id, traceparent
///      (tracestate), the caller's fields ─► BackendClient (retries, breaker, bulkhead)
///      within min(timeout, the city's backend timeoutMs) ─► citygate_backend_duration_seconds
/// ```
struct BackendCaller: Sendable {
    /// Why the request was not answered.
    enum Failure: Error {
        /// The operation's templates could not be filled from these values (`detail` names the
        /// field or header, never the value).
        case template(detail: String)
        /// The backend call failed, or the gateway refused to send it.
        case backend(BackendCallError)
        /// A `{secret.…}` value could not be had (a token endpoint down); nothing was sent.
        case credentials(detail: String)
    }

    /// One backend request to make.
    struct Call {
        /// The operation's `request` template, filled here (the template alone: copying the
        /// whole operation retained every reference in it once more per call).
        var template: BackendRequestTemplate
        /// The values its placeholders read.
        var context: TemplateContext
        /// The client of the city's backend for the service.
        var backend: BackendClient
        /// The city's `timeoutMs` for that backend: no wait on it is longer.
        var backendTimeoutMilliseconds: Int?
        /// Sent as `X-Request-Id`.
        var requestId: String
        /// The caller's W3C trace context, continued when valid; otherwise a trace starts here.
        var traceparent: String? = nil
        var tracestate: String? = nil
        /// Further fields (identity for calls, the event's for deliveries).
        var headers: [(String, String)] = []
        /// The whole call's deadline before the backend's ceiling.
        var timeoutMilliseconds: Int
        /// Whether to retry (idempotent operations only), and how often in all.
        var idempotent: Bool
        var maxAttempts: Int
        /// `citygate_backend_duration_seconds` labels, rendered once per route.
        var durationLabels: String
        /// Where `{secret.…}` values come from, and the city whose credentials they are.
        var credentials: (store: BackendCredentials, city: String)? = nil
    }

    /// Trace and span ids for backend requests.
    static let traceRandom = RandomPool()

    /// Sends one built request to a backend: the backend's client (retries, breaker, bulkhead)
    /// unless a test injects another (the pipeline tests, which run without sockets).
    typealias Transport =
        @Sendable (
            _ request: ClientRequest, _ call: Call, _ attempts: Int, _ attemptTimeout: Duration,
            _ deadline: ContinuousClock.Instant
        ) async throws(BackendCallError) -> ClientResponse

    let metrics: Metrics?
    let transport: Transport?

    init(metrics: Metrics?, transport: Transport? = nil) {
        self.metrics = metrics
        self.transport = transport
    }

    /// Builds and sends `call`; the backend's answer, whatever its status. A request carrying an
    /// OAuth token the backend answers 401 is sent once more with a token fetched anew.
    func send(_ call: Call) async throws(Failure) -> ClientResponse {
        let names = call.template.secretNames
        let answer = try await sendOnce(call, names: names)
        guard answer.status == 401, let (store, city) = call.credentials, store.hasToken(city: city, names: names)
        else { return answer }
        store.invalidate(city: city, names: names)
        return try await sendOnce(call, names: names)
    }

    private func sendOnce(_ call: Call, names: Set<String>) async throws(Failure) -> ClientResponse {
        var context = call.context
        if !names.isEmpty {
            guard let (store, city) = call.credentials else {
                throw .credentials(detail: "no credentials are available for this request")
            }
            do { context.values["secret"] = try await store.values(city: city, names: names) } catch {
                throw .credentials(detail: error.detail)
            }
        }
        var outbound: ClientRequest
        do {
            outbound = try BackendRequestBuilder.build(call.template, context: context)
        } catch {
            throw .template(detail: error.detail)
        }
        outbound.headers.add(name: "X-Request-Id", value: call.requestId)
        // W3C Trace Context: the caller's trace continues (a child span is ours), else one starts.
        let random = (try? Self.traceRandom.next(24)) ?? Array(call.requestId.utf8)
        let continued = call.traceparent.flatMap(TraceContext.init(traceparent:))
        let trace = continued ?? TraceContext(random: Array(random.prefix(16)))
        outbound.headers.add(name: "traceparent", value: trace.child(spanId: Array(random.suffix(8))))
        if continued != nil, let state = call.tracestate {
            outbound.headers.add(name: "tracestate", value: state)
        }
        for (name, value) in call.headers { outbound.headers.add(name: name, value: value) }
        let timeout = min(call.timeoutMilliseconds, call.backendTimeoutMilliseconds ?? .max)
        let attempts = call.idempotent ? max(1, call.maxAttempts) : 1
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            metrics?.observe(
                "citygate_backend_duration_seconds", labelText: call.durationLabels,
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        let attemptTimeout = Duration.milliseconds(max(1, timeout / attempts))
        let deadline = ContinuousClock.now + .milliseconds(timeout)
        do {
            if let transport {
                return try await transport(outbound, call, attempts, attemptTimeout, deadline)
            }
            return try await call.backend.call(
                outbound, idempotent: call.idempotent, maxAttempts: attempts, attemptTimeout: attemptTimeout,
                deadline: deadline)
        } catch {
            throw .backend(error)
        }
    }
}
