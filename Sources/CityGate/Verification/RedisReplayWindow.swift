import Cryptography
import RedisClient

/// The replay window shared by every instance (`gateway.json` `state.redis`): a signed request
/// is claimed with `SET citygate:replay:<sha256(scope, key)> 1 NX PX <lifetime>`, so the first
/// instance to see it wins and every other refuses it as a replay, for the scheme's lifetime.
/// Redis unreachable means no claim can be made: the caller fails closed (503
/// `state-unavailable`), never accepting a request it could not record.
struct RedisReplayWindow: Sendable {
    let redis: RedisClient

    /// Whether this is the first use of `key` in `scope`.
    func claim(scope: String, key: String, lifetime: Int64) async throws(RedisError) -> Bool {
        let digest = (try? Digest.sha256.hash(Array((scope + "\u{0}" + key).utf8))).map(Encoding.hex) ?? key
        let reply = try await redis.command(
            "SET", "citygate:replay:" + digest, "1", "NX", "PX", String(max(1, lifetime) * 1000))
        switch reply {
        case .status("OK"): return true
        case .null: return false
        case .error(let message): throw .unavailable("redis refused the claim: \(message.prefix(80))")
        default: throw .unavailable("unexpected reply to SET NX")
        }
    }
}
