import Synchronization

/// GCRA (the generic cell rate algorithm) over any number of keys, all in memory.
///
/// Each key keeps one number, its theoretical arrival time (TAT). With emission interval
/// `T = period / limit` and tolerance `τ = burst × T`, a request at `now` is admitted when
/// `max(TAT, now) + T − (τ + T) ≤ now`, and then `TAT = max(TAT, now) + T`. So a key admits
/// `limit` requests per `period` on average and `burst + 1` at once.
///
/// Several limits on one request are decided together, atomically: if any refuses, none is
/// charged (a request refused by one limit does not consume the others). Keys whose TAT has passed are
/// indistinguishable from new ones and are evicted, so memory is bounded by the keys active
/// within their period, not by every citizen ever seen. State lives behind ``check(_:now:)`` so a
/// shared store (Redis) can implement the same contract later.
public final class RateLimiter: Sendable {
    /// One limit to apply to one key.
    public struct Rule: Sendable, Equatable {
        /// The key, e.g. `partner:wechat-city@330100`.
        public var key: String
        /// The policy name for the headers, e.g. `partner`.
        public var policy: String
        /// Requests per period.
        public var limit: Int
        /// The period in seconds.
        public var periodSeconds: Int
        /// Extra requests admitted at once.
        public var burst: Int

        /// Creates a rule.
        public init(key: String, policy: String, limit: Int, periodSeconds: Int, burst: Int = 0) {
            self.key = key
            self.policy = policy
            self.limit = max(1, limit)
            self.periodSeconds = max(1, periodSeconds)
            self.burst = max(0, burst)
        }

        var interval: Int64 { Int64(periodSeconds) * 1_000_000_000 / Int64(limit) }
        var tolerance: Int64 { Int64(burst) * interval }
    }

    /// The outcome for the tightest rule.
    public struct Decision: Sendable, Equatable {
        /// Whether the request is admitted.
        public var allowed: Bool
        /// The rule the headers describe: the one that refused, or the one with least room left.
        public var rule: Rule?
        /// Requests left right now under that rule.
        public var remaining: Int
        /// Seconds until the rule is fully replenished (`RateLimit` `t`).
        public var resetSeconds: Int
        /// Seconds to wait before retrying (refusals only).
        public var retryAfterSeconds: Int
    }

    // One lock around the whole decision: checking every rule and charging them must be atomic,
    // or two concurrent requests could both pass the last free slot.
    private let state = Mutex<[String: Int64]>([:])
    private let maxKeys: Int

    /// Creates a limiter.
    /// - Parameter maxKeys: entries held before idle ones are evicted early (default 1,000,000).
    public init(maxKeys: Int = 1_000_000) {
        self.maxKeys = max(1, maxKeys)
    }

    /// Keys currently held.
    public var keyCount: Int { state.withLock { $0.count } }

    /// The limits shared with other instances, when `gateway.json` `state.redis` names them.
    private let shared = Mutex<RedisRateLimits?>(nil)

    /// Decides in `limits` from now on (set once at start).
    func share(_ limits: RedisRateLimits) { shared.withLock { $0 = limits } }

    /// Decides a request: in the shared limits when there are any, else (or when they cannot be
    /// reached and the policy is fail-open) here; nil when they cannot be reached and the policy
    /// is fail-closed.
    func decide(_ rules: [Rule], now: Int64) async -> Decision? {
        guard !rules.isEmpty, let limits = shared.withLock({ $0 }) else { return check(rules, now: now) }
        do { return try await limits.check(rules) } catch {
            return limits.failOpen ? check(rules, now: now) : nil
        }
    }

    /// Decides a request against every rule at `now` (nanoseconds on a monotonic clock).
    public func check(_ rules: [Rule], now: Int64) -> Decision {
        let admitAll = Decision(allowed: true, rule: nil, remaining: 0, resetSeconds: 0, retryAfterSeconds: 0)
        guard !rules.isEmpty else { return admitAll }
        return state.withLock { entries in
            var proposed: [(key: String, newTAT: Int64)] = []
            var tightest: Decision?
            for rule in rules {
                let stored = proposed.last(where: { $0.key == rule.key })?.newTAT ?? entries[rule.key] ?? now
                let newTAT = max(stored, now) + rule.interval
                let allowAt = newTAT - rule.tolerance - rule.interval
                if now < allowAt {
                    // Refused: nothing is charged, for this rule or any other.
                    return Decision(
                        allowed: false, rule: rule, remaining: 0, resetSeconds: Self.seconds(stored - now),
                        retryAfterSeconds: max(1, Self.seconds(allowAt - now)))
                }
                let remaining = Int((rule.tolerance + rule.interval - (newTAT - now)) / rule.interval)
                let candidate = Decision(
                    allowed: true, rule: rule, remaining: max(0, remaining), resetSeconds: Self.seconds(newTAT - now),
                    retryAfterSeconds: 0)
                if tightest == nil || candidate.remaining < (tightest?.remaining ?? .max) { tightest = candidate }
                proposed.append((rule.key, newTAT))
            }
            if entries.count + proposed.count > maxKeys { Self.evict(&entries, now: now) }
            for (key, newTAT) in proposed { entries[key] = newTAT }
            return tightest ?? admitAll
        }
    }

    /// Drops every key whose TAT has passed (it would behave exactly like a new key).
    public func evictIdle(now: Int64) {
        state.withLock { Self.evict(&$0, now: now) }
    }

    private static func evict(_ entries: inout [String: Int64], now: Int64) {
        entries = entries.filter { $0.value > now }
    }

    private static func seconds(_ nanoseconds: Int64) -> Int {
        nanoseconds <= 0 ? 0 : Int((nanoseconds + 999_999_999) / 1_000_000_000)
    }
}
