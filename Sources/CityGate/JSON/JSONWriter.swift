import HTTPCore

/// Encodes JSON values as compact JSON bytes with object keys sorted by their UTF-8 bytes.
///
/// Foundation's writer with `.sortedKeys` sorts through ICU collation and boxes every value;
/// on the call path it was the largest single cost of a partner call (profile in
/// docs/benchmarks.md). Output differs from it only where JSON allows: keys in byte order, `/`
/// not escaped, numbers as their JSON text.
enum JSONWriter {
    /// The encoding of `value`.
    static func encode(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        append(value, to: &out)
        return out
    }

    /// The encoding of a Foundation tree (see ``JSONValue/init(foundation:)``), or nil if it
    /// holds something JSON cannot represent.
    static func encode(_ value: Any) -> [UInt8]? {
        JSONValue(foundation: value).map(encode)
    }

    /// `encode` as a String.
    static func text(_ value: Any) -> String? {
        encode(value).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Appends the encoding of `value` to `out`.
    static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .string(let string):
            JSONText.appendQuoted(string, to: &out)
        case .number(let text):
            out.append(contentsOf: text.utf8)
        case .bool(let flag):
            out.append(contentsOf: flag ? trueBytes : falseBytes)
        case .null:
            out.append(contentsOf: nullBytes)
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            var first = true
            for key in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                guard let member = members[key] else { continue }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONText.appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(member, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)
}
