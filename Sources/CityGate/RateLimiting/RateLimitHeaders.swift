import HTTPCore

/// The IETF rate-limit fields (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy` names the
/// tightest policy with its quota `q` and window `w` (seconds); `RateLimit` gives what remains
/// `r` and when it is fully back `t` (seconds).
enum RateLimitHeaders {
    static func add(_ decision: RateLimiter.Decision, to response: inout Response) {
        for (name, value) in fields(decision) { response.headers.add(name: name, value: value) }
    }

    /// The two fields for `decision` (none when no limit applied).
    static func fields(_ decision: RateLimiter.Decision) -> [(String, String)] {
        guard let rule = decision.rule else { return [] }
        return [
            ("RateLimit-Policy", "\"\(rule.policy)\";q=\(rule.limit);w=\(rule.periodSeconds)"),
            ("RateLimit", "\"\(rule.policy)\";r=\(decision.remaining);t=\(decision.resetSeconds)"),
        ]
    }
}
