import Cryptography
import RedisClient

/// The limits shared by every instance (`gateway.json` `state.redis`): the same GCRA as
/// ``RateLimiter``, run in one Lua script over every rule of a call, so the decision is atomic
/// across instances (a refusal charges nothing) and uses one clock, Redis's own (`TIME`), not
/// each instance's.
///
/// When Redis cannot be reached the gateway's policy decides (`state.rateLimits`): `fail-open`
/// (the default) falls back to the instance's own limiter — a city stays open, each instance
/// holding its share — and `fail-closed` refuses with 503 `state-unavailable`.
struct RedisRateLimits: Sendable {
    let redis: RedisClient
    let failOpen: Bool

    /// KEYS: the rules' keys; ARGV: per rule, the interval and the tolerance in microseconds.
    /// Returns `{1, tat₁ − now, …}` when every rule admits (and charges them all), or
    /// `{0, rule, stored − now, allowAt − now}` for the first that refuses (charging none).
    static let script = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tats = {}
        for i = 1, #KEYS do
          local interval = tonumber(ARGV[2 * i - 1])
          local tolerance = tonumber(ARGV[2 * i])
          local stored = tonumber(redis.call('GET', KEYS[i]) or now)
          for j = 1, i - 1 do if KEYS[j] == KEYS[i] then stored = tats[j] end end
          local tat = math.max(stored, now) + interval
          local allowAt = tat - tolerance - interval
          if now < allowAt then return {0, i, stored - now, allowAt - now} end
          tats[i] = tat
        end
        local out = {1}
        for i = 1, #KEYS do
          redis.call('SET', KEYS[i], tats[i], 'PX', math.floor((tats[i] - now) / 1000) + 1)
          out[#out + 1] = tats[i] - now
        end
        return out
        """

    /// The script's SHA-1, as Redis names it: calls send this (EVALSHA), not the script's
    /// kilobyte, and fall back to EVAL once when Redis does not hold it (a restart, a failover).
    static let scriptSHA1 = Encoding.hex((try? Digest.sha1.hash(Array(script.utf8))) ?? [])

    /// Decides `rules` in Redis.
    func check(_ rules: [RateLimiter.Rule]) async throws(RedisError) -> RateLimiter.Decision {
        var arguments: [String] = ["EVALSHA", Self.scriptSHA1, String(rules.count)]
        arguments += rules.map { "citygate:limit:" + $0.key }
        for rule in rules { arguments += [String(rule.interval / 1000), String(rule.tolerance / 1000)] }
        var reply = try await redis.command(arguments.map { Array($0.utf8) })
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            arguments[0] = "EVAL"
            arguments[1] = Self.script
            reply = try await redis.command(arguments.map { Array($0.utf8) })
        }
        guard case .array(let values) = reply, case .integer(let verdict)? = values.first else {
            if case .error(let message) = reply {
                throw .unavailable("redis refused the limit script: \(message.prefix(80))")
            }
            throw .unavailable("unexpected reply to the limit script")
        }
        let numbers = values.dropFirst().compactMap { value -> Int64? in
            if case .integer(let number) = value { return number }
            return nil
        }
        if verdict == 0 {
            guard numbers.count == 3, numbers[0] >= 1, Int(numbers[0]) <= rules.count else {
                throw .unavailable("unexpected refusal from the limit script")
            }
            let rule = rules[Int(numbers[0]) - 1]
            return RateLimiter.Decision(
                allowed: false, rule: rule, remaining: 0, resetSeconds: Self.seconds(numbers[1] * 1000),
                retryAfterSeconds: max(1, Self.seconds(numbers[2] * 1000)))
        }
        guard numbers.count == rules.count else { throw .unavailable("unexpected answer from the limit script") }
        var tightest: RateLimiter.Decision?
        for (rule, untilTAT) in zip(rules, numbers) {
            let interval = rule.interval / 1000
            let remaining = Int((rule.tolerance / 1000 + interval - untilTAT) / max(1, interval))
            let candidate = RateLimiter.Decision(
                allowed: true, rule: rule, remaining: max(0, remaining), resetSeconds: Self.seconds(untilTAT * 1000),
                retryAfterSeconds: 0)
            if tightest == nil || candidate.remaining < (tightest?.remaining ?? .max) { tightest = candidate }
        }
        return tightest
            ?? RateLimiter.Decision(allowed: true, rule: nil, remaining: 0, resetSeconds: 0, retryAfterSeconds: 0)
    }

    private static func seconds(_ nanoseconds: Int64) -> Int {
        nanoseconds <= 0 ? 0 : Int((nanoseconds + 999_999_999) / 1_000_000_000)
    }
}
