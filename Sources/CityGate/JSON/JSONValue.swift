/// A decoded JSON value, as the call path reads, validates, maps and writes it.
///
/// The partner's input and the backend's answer used to be Foundation trees (`[String: Any]`,
/// every number an `NSNumber`): each schema check, template and mapping cast every value back and
/// read the number's Objective-C type code. This is a plain Swift value instead, and numbers keep
/// their JSON text, so a 20-digit case number or `0.10` passes through unchanged.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as its JSON text (RFC 8259 §6 grammar, checked by whoever made it).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An integer as a JSON number.
    public static func integer(_ value: Int64) -> JSONValue {
        .number(String(value))
    }

    /// The object's members, if this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The number's value as a Double (nil for non-numbers; ±infinity past Double's range).
    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// Whether this is a number with an integral value of at most 9·10¹⁵ in magnitude (`1`,
    /// `1.0`, `2e3`): what the schema's `integer` type and enum comparison treat as an integer.
    var isIntegral: Bool {
        guard let double = doubleValue else { return false }
        return double.rounded() == double && abs(double) < 9e15
    }

    /// A scalar as text for templates, query strings and form fields: strings as they are,
    /// numbers as their JSON text, `true`/`false`/`null`; objects and arrays as compact JSON.
    public var text: String {
        switch self {
        case .string(let text): return text
        case .number(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .array, .object: return String(decoding: JSONWriter.encode(self), as: UTF8.self)
        }
    }
}
