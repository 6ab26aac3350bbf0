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
        traceId = Self.hex(random.prefix(16)).padding(toLength: 32, with: "1")
        parentId = nil
        flags = "01"
    }

    /// The `traceparent` for a call made under this trace, with `spanId` (8 random bytes) as
    /// the gateway's span.
    public func child(spanId: [UInt8]) -> String {
        "00-\(traceId)-\(Self.hex(spanId.prefix(8)).padding(toLength: 16, with: "1"))-\(flags)"
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66)
    }

    private static func hex(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    fileprivate func padding(toLength length: Int, with pad: Character) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: pad, count: length - count)
    }
}
