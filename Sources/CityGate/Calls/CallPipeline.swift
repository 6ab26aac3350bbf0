import Foundation
import HTTPClient
import HTTPCore
import HTTPServer

/// `POST /v1/cities/{city}/services/{service}/{operation}`: one partner call, as an ordered list
/// of stages over one ``CallContext`` (DESIGN §2), in the manner of Envoy's filter chain. Each
/// stage fills the context or stops the call with a problem; observers then see the outcome.
///
/// ```
///  resolve      city, service, operation in the call's snapshot          404 / 503 with the notice
///  partner      X-Partner-Id, allowed for the city, signature, replay    401 / 403 / 409 / 503
///  bearer       token: signature, expiry, revocation, partner,           401 / 403 WWW-Authenticate: Bearer
///               audience = city, scope, auth level
///  delegation   an agent's delegation valid and covering the service      403
///  rate-limits  city and service limits together (GCRA; a refusal        429 + RateLimit fields
///               charges none)
///  input        JSON object valid against the operation's schema           400 / 422 with the violations
///  identity     the citizen's own id for raw-identity services             401
///  bindings     bound input fields name the token's citizen                403 subject-mismatch
///  idempotency  Idempotency-Key on non-idempotent operations: the first     400 / 409 / 422, or the
///               answer kept 24 h and replayed                               stored answer replayed
///  case         on the way out: an opened case recorded with its working-day deadlines, which
///               the answer gains
///  backend      request from the templates through BackendCaller,          502 / 503 / 504 naming the
///               answer mapped into the partner's JSON                      backend, or the mapped problem
/// A stage may answer the call itself (a replayed answer): the stages after it do not run.
/// observers:    metrics (every call), audit (citizen-bound calls and their refusals)
/// ```
///
/// Inserting a stage (idempotency keys, case recording) is one line in ``standardStages``.
public struct CallPipeline: Sendable {
    let active: ActiveConfiguration
    /// The stages, in order.
    let stages: [any CallStage]
    /// The stages with work on the way out, with their places in `stages`.
    private let decorators: [(index: Int, stage: any DecoratingStage)]
    /// The stages that see the final answer, with their places in `stages`.
    private let finishers: [(index: Int, stage: any FinishingStage)]
    /// What sees every outcome.
    let observers: [any CallObserver]

    /// How many input violations a 422 lists; the rest are counted (`errorsOmitted`).
    static let listedViolations = 50

    /// The gateway's pipeline.
    /// - Parameters:
    ///   - clock: Unix seconds (token expiry, replay window, audit times).
    ///   - monotonicNanos: the rate limiter's clock.
    ///   - transport: where backend requests go; the backend's client unless a test injects one.
    init(
        active: ActiveConfiguration, limiter: RateLimiter = RateLimiter(), tokens: TokenService? = nil,
        audit: (any AuditKeeping)? = nil, metrics: Metrics? = nil,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
        monotonicNanos: @escaping @Sendable () -> Int64 = RateLimitStage.uptimeNanos,
        idempotency: (any IdempotencyKeeping)? = nil, cases: (any CaseKeeping)? = nil,
        transport: BackendCaller.Transport? = nil
    ) {
        var observers: [any CallObserver] = []
        if let metrics { observers.append(RequestMetricsObserver(metrics: metrics)) }
        if let audit { observers.append(AuditObserver(audit: audit, clock: clock)) }
        self.init(
            active: active,
            stages: Self.standardStages(
                limiter: limiter, tokens: tokens, metrics: metrics, clock: clock, monotonicNanos: monotonicNanos,
                idempotency: idempotency, cases: cases, caller: BackendCaller(metrics: metrics, transport: transport)),
            observers: observers)
    }

    /// A pipeline of other stages (tests, and a later listener with its own chain).
    init(active: ActiveConfiguration, stages: [any CallStage], observers: [any CallObserver]) {
        self.active = active
        self.stages = stages
        self.observers = observers
        decorators = stages.enumerated().compactMap { index, stage in
            (stage as? any DecoratingStage).map { (index, $0) }
        }
        finishers = stages.enumerated().compactMap { index, stage in
            (stage as? any FinishingStage).map { (index, $0) }
        }
    }

    /// The stage list: the one place the order of a call is written.
    static func standardStages(
        limiter: RateLimiter, tokens: TokenService?, metrics: Metrics?, clock: @escaping @Sendable () -> Int64,
        monotonicNanos: @escaping @Sendable () -> Int64, idempotency: (any IdempotencyKeeping)?,
        cases: (any CaseKeeping)?,
        caller: BackendCaller
    ) -> [any CallStage] {
        [
            ResolveStage(),
            PartnerStage(metrics: metrics, clock: clock),
            BearerStage(tokens: tokens, clock: clock),
            DelegationStage(tokens: tokens, clock: clock),
            RateLimitStage(limiter: limiter, metrics: metrics, monotonicNanos: monotonicNanos),
            InputStage(),
            IdentityStage(tokens: tokens, clock: clock),
            BindingStage(metrics: metrics),
            IdempotencyStage(store: idempotency, clock: clock),
            CaseStage(store: cases, metrics: metrics, clock: clock),
            BackendStage(caller: caller),
        ]
    }

    /// The metric labels of one call: configured names only, "unknown" for anything else (so
    /// a caller cannot create series). Filled in as the stages resolve each name.
    struct Labels {
        var city = "unknown"
        var service = "unknown"
        var operation = "unknown"
        var partner = "unknown"
        /// The route's rendered duration labels, once city and service are resolved.
        var durationLabels: String?
    }

    func handle(_ request: Request, context: RequestContext) async -> Response {
        let snapshot = active.snapshot
        var call = CallContext(request: request, http: context, snapshot: snapshot, started: .now)
        // The token checks read the same snapshot as the rest of the call.
        let (response, refusal, ran) = await TokenService.$pinned.withValue(snapshot.pin) {
            await run(&call)
        }
        for (index, stage) in finishers.reversed() where index < ran {
            await stage.finish(call, response: response, refusal: refusal)
        }
        for observer in observers { await observer.finished(call, response: response, refusal: refusal) }
        return response
    }

    /// Runs the stages in order until one refuses or one answers; the answer, the refusal's slug
    /// if a stage refused, and how many stages completed.
    private func run(_ call: inout CallContext) async -> (Response, String?, Int) {
        var ran = 0
        do throws(ProblemError) {
            for stage in stages {
                try await stage.run(&call)
                ran += 1
                if call.response != nil { break }
            }
        } catch {
            return (error.response(requestId: call.http.requestId), error.type.slug, ran)
        }
        guard var response = call.response else {
            let refusal = CallContext.misordered("end", needs: "an answer", call.http)
            return (refusal.response(requestId: call.http.requestId), refusal.type.slug, ran)
        }
        for (index, stage) in decorators.reversed() where index < ran { await stage.decorate(&response, call) }
        return (response, nil, ran)
    }
}
