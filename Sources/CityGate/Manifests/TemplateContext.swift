import Foundation

/// The values a template's placeholders draw from: `{input.…}`, `{path.…}`, `{city.…}`,
/// `{subject.…}`, `{partner.…}`, `{request.…}`.
public struct TemplateContext: @unchecked Sendable {
    // @unchecked: `input` holds JSONSerialization values (immutable Foundation objects).

    /// The validated input (decoded JSON object).
    public var input: [String: Any]
    /// Everything else, by source then name (`city` → `code` → `330100`).
    public var values: [String: [String: String]]

    /// Creates a context.
    public init(input: [String: Any], values: [String: [String: String]] = [:]) {
        self.input = input
        self.values = values
    }

    /// The value a placeholder refers to: a string for scalars, or the JSON value itself for
    /// objects and arrays (so a whole object can be passed through into a JSON body).
    func lookup(_ reference: Substring) -> Any? {
        let parts = reference.split(separator: ".").map(String.init)
        guard parts.count >= 2 else { return nil }
        if parts[0] == "input" {
            var current: Any? = input
            for part in parts.dropFirst() { current = (current as? [String: Any])?[part] }
            return current
        }
        return values[parts[0]]?[parts[1]]
    }
}

/// Renders `{source.name}` templates.
enum TemplateRenderer {
    /// Why a template could not be filled.
    struct MissingValue: Error, Sendable {
        /// The placeholder that had no value.
        let placeholder: String
    }

    /// A template that is exactly one placeholder yields that value unchanged (a number stays a
    /// number in JSON); otherwise the placeholders are replaced by their text.
    static func render(_ template: String, _ context: TemplateContext, required: Bool = true) throws(MissingValue)
        -> Any?
    {
        if template.hasPrefix("{"), template.hasSuffix("}"), template.dropFirst().firstIndex(of: "{") == nil {
            let reference = template.dropFirst().dropLast()
            guard let value = context.lookup(reference) else {
                if required { throw MissingValue(placeholder: String(reference)) }
                return nil
            }
            return value
        }
        return try renderText(template, context)
    }

    /// One piece of a template.
    enum Part: Equatable {
        /// Text copied as it is.
        case literal(Substring)
        /// `{reference}`, without the braces.
        case placeholder(Substring)
        /// A `{` with no closing `}`: the rest of the template, kept as text.
        case unclosed(Substring)
    }

    /// Splits a template into literal text and placeholders: the one scanner that loading,
    /// rendering and path building all use.
    static func parts(of template: String) -> [Part] {
        var parts: [Part] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(rest[..<open])) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                parts.append(.unclosed(rest[open...]))
                return parts
            }
            parts.append(.placeholder(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(rest)) }
        return parts
    }

    /// Replaces every placeholder with its text, passed through `escape` (path segments are
    /// percent-encoded so a value can never add a segment).
    static func renderText(
        _ template: String, _ context: TemplateContext, escape: (String) -> String = { $0 }
    ) throws(MissingValue) -> String {
        var output = ""
        for part in parts(of: template) {
            switch part {
            case .literal(let text), .unclosed(let text):
                output += text
            case .placeholder(let reference):
                guard let value = context.lookup(reference) else { throw MissingValue(placeholder: String(reference)) }
                output += escape(text(of: value))
            }
        }
        return output
    }

    static func text(of value: Any) -> String {
        switch value {
        case let string as String: return string
        case let number as NSNumber: return InputSchema.canonicalText(number)
        default:
            return JSONWriter.text(value) ?? ""
        }
    }
}
