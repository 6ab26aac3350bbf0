import Foundation
import HTTPCore

/// Encodes JSON values (what `JSONSerialization` reads, and the Swift dictionaries, arrays,
/// strings, numbers and booleans the gateway builds) as compact JSON bytes with keys sorted by
/// their UTF-8 bytes.
///
/// Foundation's writer with `.sortedKeys` sorts through ICU collation and boxes every value;
/// on the call path it was the largest single cost of a partner call (profile in
/// docs/benchmarks.md). Output differs from it only where JSON allows: keys in byte order, `/`
/// not escaped.
enum JSONWriter {
    /// The encoding of `value`, or nil if it holds something JSON cannot represent (a
    /// non-finite number, a value of another type).
    static func encode(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        guard append(value, to: &out) else { return nil }
        return out
    }

    /// `encode` as a String.
    static func text(_ value: Any) -> String? {
        encode(value).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Appends the encoding of `value` to `out`; false (with `out` partly written) if it holds
    /// something JSON cannot represent.
    static func append(_ value: Any, to out: inout [UInt8]) -> Bool {
        switch value {
        case let string as String:
            JSONText.appendQuoted(string, to: &out)
        case let number as NSNumber where type(of: value) is NSNumber.Type:
            return writeNumber(number, into: &out)
        case let flag as Bool:
            out.append(contentsOf: flag ? trueBytes : falseBytes)
        case let integer as Int:
            out.append(contentsOf: String(integer).utf8)
        case let double as Double:
            return writeDouble(double, into: &out)
        case let integer as any BinaryInteger:
            out.append(contentsOf: String(describing: integer).utf8)
        case let float as Float:
            return writeDouble(Double(float), into: &out)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            for key in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONText.appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                guard let member = object[key], append(member, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard append(element, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull:
            out.append(contentsOf: nullBytes)
        default:
            return false
        }
        return true
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)

    private static func writeNumber(_ number: NSNumber, into out: inout [UInt8]) -> Bool {
        switch UInt8(bitPattern: number.objCType.pointee) {
        case UInt8(ascii: "c"), UInt8(ascii: "B"):
            out.append(contentsOf: number.boolValue ? trueBytes : falseBytes)
        case UInt8(ascii: "f"), UInt8(ascii: "d"):
            return writeDouble(number.doubleValue, into: &out)
        case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "C"):
            out.append(contentsOf: String(number.uint64Value).utf8)
        default:
            out.append(contentsOf: String(number.int64Value).utf8)
        }
        return true
    }

    private static func writeDouble(_ double: Double, into out: inout [UInt8]) -> Bool {
        guard double.isFinite else { return false }
        // Integral values print without a fraction, as JSONSerialization prints them.
        if double == double.rounded(), abs(double) < 9_007_199_254_740_992 {
            out.append(contentsOf: String(Int64(double)).utf8)
        } else {
            out.append(contentsOf: "\(double)".utf8)
        }
        return true
    }
}
