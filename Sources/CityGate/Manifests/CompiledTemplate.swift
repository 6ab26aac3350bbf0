/// A `{source.name}` template split into literal text and parsed placeholders once, when the
/// manifest loads, so a call renders it without scanning for braces or splitting names.
struct CompiledTemplate: Sendable {
    /// A placeholder: `{input.applicant.name}` is source `input`, names `applicant`, `name`.
    struct Reference: Sendable {
        /// The text between the braces (for "missing value" messages).
        let text: String
        let source: String
        /// The rest of the dotted name; empty when the placeholder names no field.
        let names: [String]
        /// `|date:yyyyMMdd` or `|codes:normal=1,frozen=2` after the name: the value converted
        /// for the backend (the request direction of a response recipe's `date` and `codes`).
        let filter: ValueFilter?

        init(_ text: Substring) {
            self.text = String(text)
            let bar = text.firstIndex(of: "|")
            let name = bar.map { text[..<$0] } ?? text
            let parts = name.split(separator: ".").map(String.init)
            source = parts.first ?? ""
            names = Array(parts.dropFirst())
            filter = bar.flatMap { ValueFilter(String(text[text.index(after: $0)...])) }
        }
    }

    /// A conversion a placeholder applies to its value.
    enum ValueFilter: Sendable {
        case date(DatePattern)
        case codes([String: String])

        /// `date:PATTERN` or `codes:from=to,…`; nil when neither.
        init?(_ text: String) {
            if text.hasPrefix("date:"), let pattern = DatePattern(String(text.dropFirst(5))) {
                self = .date(pattern)
            } else if text.hasPrefix("codes:") {
                var table: [String: String] = [:]
                for pair in text.dropFirst(6).split(separator: ",") {
                    let sides = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard sides.count == 2, !sides[0].isEmpty else { return nil }
                    table[String(sides[0])] = String(sides[1])
                }
                guard !table.isEmpty else { return nil }
                self = .codes(table)
            } else {
                return nil
            }
        }

        /// The converted value; nil when the value does not fit (not a date, an unlisted code).
        func apply(_ value: JSONValue) -> JSONValue? {
            guard let text = FieldRecipe.text(of: value) else { return nil }
            switch self {
            case .date(let pattern): return pattern.format(text).map(JSONValue.string)
            case .codes(let table): return table[text].map(JSONValue.string)
            }
        }
    }

    enum Piece: Sendable {
        case literal(String)
        case placeholder(Reference)
    }

    let pieces: [Piece]

    init(_ template: String) {
        pieces = TemplateRenderer.parts(of: template).map { part in
            switch part {
            case .literal(let text), .unclosed(let text): .literal(String(text))
            case .placeholder(let reference): .placeholder(Reference(reference))
            }
        }
    }

    /// A template that is exactly one placeholder yields that value unchanged (a number stays a
    /// number in JSON); otherwise the placeholders are replaced by their text.
    func render(_ context: TemplateContext, required: Bool = true) throws(TemplateRenderer.MissingValue)
        -> JSONValue?
    {
        if pieces.count == 1, case .placeholder(let reference) = pieces[0] {
            guard let value = context.lookup(reference) else {
                if required { throw TemplateRenderer.MissingValue(placeholder: reference.text) }
                return nil
            }
            return value
        }
        return .string(try renderText(context))
    }

    /// Every placeholder replaced with its text, passed through `escape` (path segments are
    /// percent-encoded so a value can never add a segment).
    func renderText(_ context: TemplateContext, escape: (String) -> String = { $0 }) throws(TemplateRenderer
        .MissingValue) -> String
    {
        if pieces.count == 1, case .literal(let text) = pieces[0] { return text }
        var output = ""
        for piece in pieces {
            switch piece {
            case .literal(let text):
                output += text
            case .placeholder(let reference):
                guard let value = context.lookup(reference) else {
                    throw TemplateRenderer.MissingValue(placeholder: reference.text)
                }
                output += escape(value.text)
            }
        }
        return output
    }
}

/// A backend request template's parts compiled for the call path (see ``CompiledTemplate``).
struct RequestPlan: Sendable {
    let path: CompiledTemplate
    let query: [(name: String, value: CompiledTemplate)]
    let headers: [(name: String, value: CompiledTemplate)]
    let body: [(name: String, value: CompiledTemplate)]
    /// The city credentials the headers and query name (`{secret.<name>}`), resolved before each
    /// request is built.
    let secretNames: Set<String>

    init(path: String, query: [(String, String)], headers: [(String, String)], body: [(String, String)]) {
        self.path = CompiledTemplate(path)
        self.query = query.map { ($0.0, CompiledTemplate($0.1)) }
        self.headers = headers.map { ($0.0, CompiledTemplate($0.1)) }
        self.body = body.map { ($0.0, CompiledTemplate($0.1)) }
        var names: Set<String> = []
        for template in self.query.map(\.value) + self.headers.map(\.value) {
            for case .placeholder(let reference) in template.pieces where reference.source == "secret" {
                if let name = reference.names.first { names.insert(name) }
            }
        }
        secretNames = names
    }
}
