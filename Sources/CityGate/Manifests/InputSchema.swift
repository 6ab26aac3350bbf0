import Foundation

/// The JSON-Schema subset an operation's `input` may use: `type`, `properties`, `required`,
/// `additionalProperties` (boolean), `items`, `enum`, `const`, `pattern`, `minLength`,
/// `maxLength`, `minimum`, `maximum`, `minItems`, `maxItems`, `format` (`date`, `phone-cn`,
/// `resident-id`). Anything else in a schema is a configuration error, not silently ignored.
///
/// Validation reports **every** violation with its JSON path. Messages describe the rule, never
/// the value: inputs carry ID-card and phone numbers.
public final class InputSchema: Sendable {
    /// JSON types.
    public enum ValueType: String, Sendable, CaseIterable {
        case object, array, string, integer, number, boolean, null
    }

    /// One violation: where and which rule.
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        /// The JSON path of the offending value (`$.applicant.idNumber`).
        public var path: String
        /// The rule it breaks.
        public var message: String
        /// `path: message`.
        public var description: String { "\(path): \(message)" }
    }

    let types: [ValueType]?
    let properties: [String: InputSchema]
    let propertyOrder: [String]
    let required: [String]
    let additionalProperties: Bool
    let items: InputSchema?
    let enumeration: [String]?
    let pattern: String?
    /// `pattern` in the common anchored shape, matched without a regex engine.
    let anchored: AnchoredPattern?
    /// Any other `pattern`, compiled once when the manifest loads (not on every call).
    let expression: NSRegularExpression?
    let minLength: Int?
    let maxLength: Int?
    let minimum: Double?
    let maximum: Double?
    let minItems: Int?
    let maxItems: Int?
    let format: InputFormat?

    static let keywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "pattern", "minLength",
        "maxLength",
        "minimum", "maximum", "minItems", "maxItems", "format", "description", "title", "examples",
    ]

    init(
        types: [ValueType]?, properties: [String: InputSchema], propertyOrder: [String], required: [String],
        additionalProperties: Bool, items: InputSchema?, enumeration: [String]?, pattern: String?, minLength: Int?,
        maxLength: Int?, minimum: Double?, maximum: Double?, minItems: Int?, maxItems: Int?, format: InputFormat?
    ) {
        self.types = types
        self.properties = properties
        self.propertyOrder = propertyOrder
        self.required = required
        self.additionalProperties = additionalProperties
        self.items = items
        self.enumeration = enumeration
        self.pattern = pattern
        let anchored = pattern.flatMap(AnchoredPattern.init)
        self.anchored = anchored
        self.expression = anchored != nil ? nil : pattern.flatMap { try? NSRegularExpression(pattern: $0) }
        self.minLength = minLength
        self.maxLength = maxLength
        self.minimum = minimum
        self.maximum = maximum
        self.minItems = minItems
        self.maxItems = maxItems
        self.format = format
    }

    /// Validates a decoded JSON value; empty when valid.
    public func validate(_ value: JSONValue) -> [Violation] {
        validate(value, keepingAtMost: .max).violations
    }

    /// Validates, keeping the first `limit` violations and counting them all: a body with
    /// 80,000 unknown members must not turn into a problem listing 80,000 rules.
    public func validate(_ value: JSONValue, keepingAtMost limit: Int) -> (violations: [Violation], total: Int) {
        var violations = ViolationList(limit: limit)
        check(value, at: "$", into: &violations)
        return (violations.kept, violations.total)
    }

    /// The violations found so far: the first `limit` kept, all counted. Paths and messages of
    /// those past the limit are never built.
    struct ViolationList {
        let limit: Int
        var kept: [Violation] = []
        var total = 0

        init(limit: Int) { self.limit = limit }

        mutating func append(_ violation: @autoclosure () -> Violation) {
            total += 1
            if kept.count < limit { kept.append(violation()) }
        }
    }

    private func check(_ value: JSONValue, at path: String, into violations: inout ViolationList) {
        let actual = InputSchema.type(of: value)
        if let types, !types.contains(actual), !(actual == .integer && types.contains(.number)) {
            violations.append(
                Violation(path: path, message: "must be \(types.map(\.rawValue).joined(separator: " or "))"))
            return
        }
        if let enumeration, !enumeration.contains(InputSchema.canonicalText(value)) {
            violations.append(Violation(path: path, message: "must be one of \(enumeration.joined(separator: ", "))"))
        }
        switch value {
        case .string(let text):
            checkString(text, at: path, into: &violations)
        case .object(let object):
            for name in required where object[name] == nil {
                violations.append(Violation(path: "\(path).\(name)", message: "is required"))
            }
            // One member needs no sort (nearly every call's nested objects, and many bodies).
            let names = object.count > 1 ? object.keys.sorted() : Array(object.keys)
            for name in names {
                guard let nested = object[name] else { continue }
                if let schema = properties[name] {
                    schema.check(nested, at: "\(path).\(name)", into: &violations)
                } else if !additionalProperties {
                    // The name is the caller's: repeated only when it is a plain identifier.
                    violations.append(
                        Violation(path: "\(path).\(EchoableText.identifier(name) ?? "?")", message: "is not allowed"))
                }
            }
        case .array(let array):
            if let minItems, array.count < minItems {
                violations.append(Violation(path: path, message: "must have at least \(minItems) items"))
            }
            if let maxItems, array.count > maxItems {
                violations.append(Violation(path: path, message: "must have at most \(maxItems) items"))
            }
            if let items {
                for (index, element) in array.enumerated() {
                    items.check(element, at: "\(path)[\(index)]", into: &violations)
                }
            }
        case .number:
            guard minimum != nil || maximum != nil, let number = value.doubleValue else { break }
            if let minimum, number < minimum {
                violations.append(Violation(path: path, message: "must be at least \(InputSchema.format(minimum))"))
            }
            if let maximum, number > maximum {
                violations.append(Violation(path: path, message: "must be at most \(InputSchema.format(maximum))"))
            }
        case .bool, .null:
            break
        }
    }

    private func checkString(_ text: String, at path: String, into violations: inout ViolationList) {
        let length = text.count
        if let minLength, length < minLength {
            violations.append(Violation(path: path, message: "must be at least \(minLength) characters"))
        }
        if let maxLength, length > maxLength {
            violations.append(Violation(path: path, message: "must be at most \(maxLength) characters"))
        }
        if let pattern {
            let matched =
                if let anchored {
                    anchored.matches(text)
                } else {
                    expression?.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
                }
            if !matched { violations.append(Violation(path: path, message: "must match the pattern \(pattern)")) }
        }
        if let format, !format.accepts(text) {
            violations.append(Violation(path: path, message: format.requirement))
        }
    }

    static func type(of value: JSONValue) -> ValueType {
        switch value {
        case .string: return .string
        case .object: return .object
        case .array: return .array
        case .null: return .null
        case .bool: return .boolean
        case .number: return value.isIntegral ? .integer : .number
        }
    }

    /// A value as compared against `enum` entries (written as JSON scalars in the manifest):
    /// integral numbers without a fraction (`1.0` is `1`).
    static func canonicalText(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .number:
            let double = value.doubleValue ?? 0
            return value.isIntegral ? "\(Int64(double))" : "\(double)"
        case .array, .object: return ""
        }
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? "\(Int64(number))" : "\(number)"
    }
}
