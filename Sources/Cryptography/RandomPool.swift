import COpenSSL
import Synchronization

/// Random bytes served from a buffer OpenSSL's CSPRNG refills 4 KiB at a time, for identifiers
/// that must be unpredictable but are not secrets (W3C trace and span ids on every backend
/// call). One `RAND_bytes` per call was about 1 % of a partner call; keys, nonces and salts
/// still come from ``SecureBytes/random(count:)`` directly.
public final class RandomPool: Sendable {
    private struct Buffer {
        var bytes = [UInt8](repeating: 0, count: RandomPool.capacity)
        var position = RandomPool.capacity
    }

    static let capacity = 4096
    private let buffer = Mutex(Buffer())

    /// A pool; the first draw fills it.
    public init() {}

    /// `count` random bytes (at most 4,096).
    public func next(_ count: Int) throws(CryptoError) -> [UInt8] {
        precondition(count >= 0 && count <= Self.capacity, "RandomPool.next: count out of range")
        return try buffer.withLock { buffer throws(CryptoError) -> [UInt8] in
            if buffer.position + count > Self.capacity {
                try check(RAND_bytes(&buffer.bytes, Int32(Self.capacity)), "RAND_bytes")
                buffer.position = 0
            }
            defer { buffer.position += count }
            return Array(buffer.bytes[buffer.position..<buffer.position + count])
        }
    }
}
