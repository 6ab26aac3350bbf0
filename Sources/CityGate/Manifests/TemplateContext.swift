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
    func lookup(_ reference: CompiledTemplate.Reference) -> JSONValue? {
        guard let value = rawLookup(reference) else { return nil }
        guard let filter = reference.filter else { return value }
        return filter.apply(value)
    }

    private func rawLookup(_ reference: CompiledTemplate.Reference) -> JSONValue? {
        guard let first = reference.names.first else { return nil }
        if reference.source == "input" {
            var current = input[first]
            for name in reference.names.dropFirst() {
                guard case .object(let members) = current else { return nil }
                current = members[name]
            }
            return current
        }
        return values[reference.source]?[first].map(JSONValue.string)
    }
}

/// Splits `{source.name}` templates (``CompiledTemplate`` renders them).
enum TemplateRenderer {
    /// Why a template could not be filled.
    struct MissingValue: Error, Sendable {
        /// The placeholder that had no value.
        let placeholder: String
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

    /// Splits a template into literal text and placeholders: the one scanner that validation
    /// and compiling both use.
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
}
