/// W3C Trace Context (`traceparent`, version 00): accepted from partners when well formed,
/// otherwise started afresh, and passed to backends as a child (same trace id, the gateway's own
/// span id), so a call can be followed across the partner, the gateway and the backend.
public struct TraceContext: Sendable, Equatable {
    /// 32 lowercase hex digits, not all zero.
    public let traceId: String
    /// The caller's span (16 hex digits), or nil when the trace starts here.
    public let parentId: String?
    /// The trace flags (2 hex digits; `01` sampled).
    public let flags: String

    /// Parses a `traceparent` value; nil unless it is `00-<32 hex>-<16 hex>-<2 hex>` with non-zero
    /// ids (W3C Trace Context §3.2).
    public init?(traceparent: String) {
        let parts = traceparent.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "00", parts[1].count == 32, parts[2].count == 16, parts[3].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy(Self.isLowerHex) }),
            parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" })
        else { return nil }
        traceId = String(parts[1])
        parentId = String(parts[2])
        flags = String(parts[3])
    }

    /// A new trace, with ids from `random` (16 bytes for the trace, flags sampled).
    public init(random: [UInt8]) {
        traceId = Self.hex(random.prefix(16), digits: 32)
        parentId = nil
        flags = "01"
    }

    /// The `traceparent` for a call made under this trace, with `spanId` (8 random bytes) as
    /// the gateway's span. Written into one buffer: this runs on every backend call.
    public func child(spanId: [UInt8]) -> String {
        let length = 3 + traceId.utf8.count + 1 + 16 + 1 + flags.utf8.count
        return String(unsafeUninitializedCapacity: length) { buffer in
            var index = 0
            func put(_ byte: UInt8) {
                buffer[index] = byte
                index += 1
            }
            for byte in "00-".utf8 { put(byte) }
            for byte in traceId.utf8 { put(byte) }
            put(UInt8(ascii: "-"))
            index = Self.writeHex(spanId.prefix(8), digits: 16, into: buffer, at: index)
            put(UInt8(ascii: "-"))
            for byte in flags.utf8 { put(byte) }
            return index
        }
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }

    /// `bytes` as lowercase hex, padded with `1`s to `digits` characters (never all zeros).
    private static func hex(_ bytes: some Collection<UInt8>, digits: Int) -> String {
        String(unsafeUninitializedCapacity: digits) { buffer in writeHex(bytes, digits: digits, into: buffer, at: 0) }
    }

    private static func writeHex(
        _ bytes: some Collection<UInt8>, digits: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int
    ) -> Int {
        var index = start
        for byte in bytes.prefix(digits / 2) {
            buffer[index] = hexDigit(byte >> 4)
            buffer[index + 1] = hexDigit(byte & 0x0F)
            index += 2
        }
        while index < start + digits {
            buffer[index] = UInt8(ascii: "1")
            index += 1
        }
        return index
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
