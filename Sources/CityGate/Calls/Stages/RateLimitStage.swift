import Foundation
import HTTPCore
import HTTPServer

/// Stage 4: every limit the city and the service declare, decided together (GCRA; a refusal
/// charges none). `subject` limits count per citizen, so they apply to calls with a citizen
/// token. A refusal is 429 with `Retry-After` and the RateLimit fields; an answer carries the
/// fields of the tightest limit.
struct RateLimitStage: DecoratingStage {
    let name = "rate-limits"
    let limiter: RateLimiter
    let metrics: Metrics?
    /// Monotonic nanoseconds (the limiter's clock).
    let monotonicNanos: @Sendable () -> Int64

    func run(_ call: inout CallContext) async throws(ProblemError) {
        let target = try call.resolved(for: name)
        let rules = target.route.rules(
            operation: target.operation.name, partnerId: try call.partner(for: name),
            remoteAddress: call.http.remoteAddress, subject: call.token?.grant.subject)
        guard let decision = await limiter.decide(rules, now: monotonicNanos()) else {
            throw ProblemError(
                .stateUnavailable, "The gateway's shared rate limits are unreachable; retry shortly.",
                headers: [("Retry-After", "1")])
        }
        guard decision.allowed else {
            metrics?.increment("citygate_rate_limit_refusals_total", ["scope": decision.rule?.policy ?? "unknown"])
            throw ProblemError(
                .rateLimited,
                "The \(decision.rule?.policy ?? "") limit for this call is used up; retry after \(decision.retryAfterSeconds) s.",
                headers: [("Retry-After", "\(decision.retryAfterSeconds)")] + RateLimitHeaders.fields(decision))
        }
        call.limits = decision
    }

    func decorate(_ response: inout Response, _ call: CallContext) {
        if let limits = call.limits { RateLimitHeaders.add(limits, to: &response) }
    }

    /// The process's monotonic clock in nanoseconds.
    static let uptimeNanos: @Sendable () -> Int64 = { Int64(ProcessInfo.processInfo.systemUptime * 1e9) }
}
