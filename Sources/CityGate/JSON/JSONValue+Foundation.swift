import Foundation

extension JSONValue {
    /// A Foundation JSON tree (what `JSONSerialization` and the XML reader make, and the Swift
    /// dictionaries, arrays, strings, numbers and booleans the gateway builds) as a value; nil if
    /// it holds something JSON cannot represent (a non-finite number, a value of another type).
    public init?(foundation value: Any) {
        switch value {
        case let string as String:
            self = .string(string)
        case let number as NSNumber where type(of: value) is NSNumber.Type:
            // Checked before Bool and Int: on Linux an NSNumber also casts to both.
            guard let converted = Self.number(number) else { return nil }
            self = converted
        case let flag as Bool:
            self = .bool(flag)
        case let integer as Int:
            self = .number(String(integer))
        case let double as Double:
            guard let converted = Self.number(double) else { return nil }
            self = converted
        case let integer as any BinaryInteger:
            self = .number(String(describing: integer))
        case let float as Float:
            guard let converted = Self.number(Double(float)) else { return nil }
            self = converted
        case let object as [String: Any]:
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(object.count)
            for (name, member) in object {
                guard let converted = JSONValue(foundation: member) else { return nil }
                members[name] = converted
            }
            self = .object(members)
        case let array as [Any]:
            var elements: [JSONValue] = []
            elements.reserveCapacity(array.count)
            for element in array {
                guard let converted = JSONValue(foundation: element) else { return nil }
                elements.append(converted)
            }
            self = .array(elements)
        case is NSNull:
            self = .null
        default:
            return nil
        }
    }

    private static func number(_ number: NSNumber) -> JSONValue? {
        switch UInt8(bitPattern: number.objCType.pointee) {
        case UInt8(ascii: "c"), UInt8(ascii: "B"):
            return .bool(number.boolValue)
        case UInt8(ascii: "f"), UInt8(ascii: "d"):
            return Self.number(number.doubleValue)
        case UInt8(ascii: "Q"), UInt8(ascii: "L"), UInt8(ascii: "I"), UInt8(ascii: "S"), UInt8(ascii: "C"):
            return .number(String(number.uint64Value))
        default:
            return .number(String(number.int64Value))
        }
    }

    private static func number(_ double: Double) -> JSONValue? {
        guard double.isFinite else { return nil }
        // Integral values print without a fraction, as JSONSerialization prints them.
        if double == double.rounded(), abs(double) < 9_007_199_254_740_992 {
            return .number(String(Int64(double)))
        }
        return .number("\(double)")
    }
}
