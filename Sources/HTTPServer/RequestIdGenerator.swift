import CSystemLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Request ids unique across loops and restarts without coordination: 8 hex digits of boot
/// randomness, 2 of the loop index, and a per-loop counter in hex (`5f0c9a1e-01-2b`).
///
/// Incoming `X-Request-Id` values are not trusted: an edge gateway must not let a partner choose
/// the id that audit records and logs are keyed by.
struct RequestIdGenerator {
    private let prefix: String
    private var counter: UInt64 = 0

    init(loopIndex: Int) {
        var random: UInt32 = 0
        // getrandom cannot fail for 4 bytes once the pool is initialised; fall back to the clock.
        if citygate_random_bytes(&random, 4) != 4 {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            random = UInt32(truncatingIfNeeded: now.tv_nsec ^ now.tv_sec)
        }
        let hex = String(random, radix: 16)
        let index = String(loopIndex, radix: 16)
        prefix = String(repeating: "0", count: 8 - hex.count) + hex + "-" + (index.count < 2 ? "0" : "") + index + "-"
    }

    mutating func next() -> String {
        counter &+= 1
        return prefix + String(counter, radix: 16)
    }
}
