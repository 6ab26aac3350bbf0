/// The values a template's placeholders draw from: `{input.…}`, `{path.…}`, `{city.…}`,
/// `{subject.…}`, `{partner.…}`, `{request.…}`.
public struct TemplateContext: Sendable {
    /// The validated input (decoded JSON object).
    public var input: [String: JSONValue]
    /// Everything else, by source then name (`city` → `code` → `330100`).
    public var values: [String: [String: String]]

    /// Creates a context.
    public init(input: [String: JSONValue], values: [String: [String: String]] = [:]) {
        self.input = input
        self.values = values
    }

    /// The value a placeholder refers to: the JSON value itself for `input` (a number stays a
    /// number, an object can be passed through into a JSON body), a string for the others.
    func lookup(_ reference: Substring) -> JSONValue? {
        guard let dot = reference.firstIndex(of: ".") else { return nil }
        let source = reference[..<dot]
        var rest = reference[reference.index(after: dot)...]
        guard !rest.isEmpty else { return nil }
        if source == "input" {
            var current = JSONValue.object(input)
            while !rest.isEmpty {
                let name = rest.prefix { $0 != "." }
                rest = rest.dropFirst(name.count)
                if rest.first == "." { rest = rest.dropFirst() }
                guard case .object(let members) = current, let next = members[String(name)] else { return nil }
                current = next
            }
            return current
        }
        let name = rest.prefix { $0 != "." }
        return values[String(source)]?[String(name)].map(JSONValue.string)
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
        -> JSONValue?
    {
        if template.hasPrefix("{"), template.hasSuffix("}"), template.dropFirst().firstIndex(of: "{") == nil {
            let reference = template.dropFirst().dropLast()
            guard let value = context.lookup(reference) else {
                if required { throw MissingValue(placeholder: String(reference)) }
                return nil
            }
            return value
        }
        return .string(try renderText(template, context))
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
                output += escape(value.text)
            }
        }
        return output
    }
}
