import HTTPCore

/// The IETF rate-limit fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` names the
/// tightest policy with its quota `q` and window `w` (seconds); `RateLimit` gives what remains
/// `r` and when it is fully back `t` (seconds).
enum RateLimitHeaders {
    static func add(_ decision: RateLimiter.Decision, to response: inout Response) {
        guard let rule = decision.rule else { return }
        response.headers.add(
            name: "RateLimit-Policy", value: "\"\(rule.policy)\";q=\(rule.limit);w=\(rule.periodSeconds)")
        response.headers.add(
            name: "RateLimit", value: "\"\(rule.policy)\";r=\(decision.remaining);t=\(decision.resetSeconds)")
    }
}
