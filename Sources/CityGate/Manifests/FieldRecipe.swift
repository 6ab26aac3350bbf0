import Foundation
import HTTPCore

/// How one output field of an answer is made, compiled at load (no per-call parsing):
///
/// ```json
/// "balance":  {"path": "$.Account.Balance", "type": "number"},
/// "status":   {"path": "$.Account.State", "codes": {"1": "normal", "2": "frozen"}, "default": "unknown"},
/// "openedOn": {"path": "$.Account.OpenDate", "date": "yyyyMMdd"},          → "2015-08-01"
/// "updated":  {"path": "$.UpdateTime", "datetime": "yyyyMMddHHmmss"},      → "2026-12-02T16:45:33+08:00"
/// "name":     {"concat": ["$.Surname", "$.GivenName"]},
/// "paidOn":   {"path": "$.History.Item[*].Date", "date": "yyyyMMdd"},     → every element's
/// "history":  {"path": "$.History.Item", "array": true,
///              "each": {"on": {"path": "$.Date", "date": "yyyyMMdd"}, "amount": {"path": "$.Amount", "type": "number"}}}
/// ```
///
/// Applied in that order: the value at `path` (or the concatenation), `array` (one repeated XML
/// element comes back as an object, several as an array: `array` makes it always an array),
/// then per value `codes`, `date`/`datetime`, `type`; `each` maps every element of an array of
/// objects with recipes of its own. A value a recipe cannot take (an unknown code with no
/// default, a date that is not one, "abc" as a number) is a 502 naming the field, never a
/// guess and never the value.
struct FieldRecipe: Sendable {
    /// JSON types a field may be made into.
    enum ValueType: String, Sendable, CaseIterable {
        case string, number, integer, boolean
    }

    /// Where the value comes from.
    enum Source: Sendable {
        case path([ResponsePlan.Step])
        /// Text pieces: a path's value as text, or literal text.
        case concat([ConcatPiece])
    }

    enum ConcatPiece: Sendable {
        case path([ResponsePlan.Step])
        case literal(String)
    }

    /// Why a value could not be made (the field is named by the caller; never the value).
    struct Failure: Error {
        let reason: String
    }

    var source: Source
    var type: ValueType?
    var alwaysArray = false
    var codes: [String: String]?
    var codeDefault: String?
    var date: DatePattern?
    var datetime: DatePattern?
    var each: [(name: String, recipe: FieldRecipe)]?

    /// The field's value in `document` (nil: absent, written as null).
    func value(in document: JSONValue) throws(Failure) -> JSONValue? {
        var value: JSONValue?
        switch source {
        case .path(let steps): value = ResponsePlan.value(at: steps, in: document)
        case .concat(let pieces):
            var text = ""
            for piece in pieces {
                switch piece {
                case .literal(let literal): text += literal
                case .path(let steps):
                    if let found = ResponsePlan.value(at: steps, in: document) { text += Self.text(of: found) ?? "" }
                }
            }
            value = .string(text)
        }
        if alwaysArray {
            switch value {
            case nil, .null?: value = .array([])
            case .array?: break
            case let single?: value = .array([single])
            }
        }
        guard let found = value else { return nil }
        if let each {
            guard case .array(let elements) = found else { throw Failure(reason: "each needs an array") }
            var mapped: [JSONValue] = []
            for element in elements {
                var object: [String: JSONValue] = [:]
                for (name, recipe) in each { object[name] = try recipe.value(in: element) ?? .null }
                mapped.append(.object(object))
            }
            return .array(mapped)
        }
        if case .array(let elements) = found, hasScalarTransform {
            var mapped: [JSONValue] = []
            for element in elements { mapped.append(try transform(element)) }
            return .array(mapped)
        }
        return try transform(found)
    }

    private var hasScalarTransform: Bool { codes != nil || date != nil || datetime != nil || type != nil }

    /// codes, then date or datetime, then type, on one value.
    private func transform(_ input: JSONValue) throws(Failure) -> JSONValue {
        var value = input
        if case .null = value { return value }
        if let codes {
            let key = Self.text(of: value) ?? ""
            if let mapped = codes[key] {
                value = .string(mapped)
            } else if let codeDefault {
                value = .string(codeDefault)
            } else {
                throw Failure(reason: "a code the manifest's table does not list")
            }
        }
        if let date {
            guard let text = Self.text(of: value), let parsed = date.parse(text) else {
                throw Failure(reason: "not a date of the form \(date.pattern)")
            }
            value = .string(parsed.dateText)
        }
        if let datetime {
            guard let text = Self.text(of: value), let parsed = datetime.parse(text) else {
                throw Failure(reason: "not a date and time of the form \(datetime.pattern)")
            }
            value = .string(parsed.rfc3339)
        }
        if let type { value = try Self.convert(value, to: type) }
        return value
    }

    /// A scalar's text (numbers as written, booleans as true/false); nil for arrays and objects.
    static func text(of value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .number(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .null: ""
        case .array, .object: nil
        }
    }

    static func convert(_ value: JSONValue, to type: ValueType) throws(Failure) -> JSONValue {
        switch (type, value) {
        case (.string, _):
            guard let text = text(of: value) else { throw Failure(reason: "a list or object, not text") }
            return .string(text)
        case (.number, .number), (.boolean, .bool): return value
        case (.integer, .number(let text)) where !text.contains(".") && !text.lowercased().contains("e"): return value
        case (.number, .string(let text)), (.integer, .string(let text)):
            // Zero-padded numbers ("0120") are common in fixed-width records: read as 120.
            let trimmed = JSONNumber.unpadded(text.trimmingCharacters(in: .whitespaces))
            guard JSONNumber.isValid(trimmed),
                type == .number || (!trimmed.contains(".") && !trimmed.contains("e") && !trimmed.contains("E"))
            else { throw Failure(reason: type == .number ? "not a number" : "not an integer") }
            return .number(trimmed)
        case (.boolean, .string(let text)):
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1", "y", "yes", "是": return .bool(true)
            case "false", "0", "n", "no", "否": return .bool(false)
            default: throw Failure(reason: "not a boolean")
            }
        case (.boolean, .number(let text)) where text == "0" || text == "1": return .bool(text == "1")
        default: throw Failure(reason: "not a \(type.rawValue)")
        }
    }
}

/// JSON number grammar (RFC 8259 §6), for text a backend sends as a string.
enum JSONNumber {
    /// `0120` → `120`, `-007.5` → `-7.5` (a lone `0` and `0.5` stay); other text unchanged.
    static func unpadded(_ text: String) -> String {
        var digits = Substring(text)
        let negative = digits.hasPrefix("-")
        if negative { digits = digits.dropFirst() }
        while digits.count > 1, digits.hasPrefix("0"), let next = digits.dropFirst().first, next.isNumber {
            digits = digits.dropFirst()
        }
        return (negative ? "-" : "") + digits
    }

    static func isValid(_ text: String) -> Bool {
        text.range(of: #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"#, options: .regularExpression) != nil
    }
}

/// A fixed-width date pattern of `yyyy`, `MM`, `dd`, `HH`, `mm`, `ss` and literal characters
/// (`yyyyMMdd`, `yyyy/MM/dd HH:mm:ss`), compiled once.
struct DatePattern: Sendable {
    enum Piece: Sendable {
        case field(Character, width: Int)
        case literal(Character)
    }

    /// A parsed moment, local to `offsetSeconds`.
    struct Moment {
        let date: CivilDate
        let hour: Int, minute: Int, second: Int
        let offsetSeconds: Int

        var dateText: String { date.description }
        var rfc3339: String {
            let offset =
                offsetSeconds == 0
                ? "Z"
                : String(
                    format: "%@%02d:%02d", offsetSeconds < 0 ? "-" : "+", abs(offsetSeconds) / 3600,
                    abs(offsetSeconds) % 3600 / 60)
            return "\(date)T" + String(format: "%02d:%02d:%02d", hour, minute, second) + offset
        }
    }

    let pattern: String
    let pieces: [Piece]
    /// The zone the backend's times are in (default China Standard Time, +08:00).
    let offsetSeconds: Int

    /// Compiles `pattern`; nil when it has a letter that is not a known field, or no year,
    /// month and day.
    init?(_ pattern: String, offsetSeconds: Int = 8 * 3600) {
        var pieces: [Piece] = []
        var characters = Array(pattern)[...]
        while let first = characters.first {
            let run = characters.prefix { $0 == first }
            if first.isLetter {
                let width = run.count
                switch (first, width) {
                case ("y", 4), ("M", 2), ("d", 2), ("H", 2), ("m", 2), ("s", 2):
                    pieces.append(.field(first, width: width))
                default: return nil
                }
            } else {
                for character in run { pieces.append(.literal(character)) }
            }
            characters = characters.dropFirst(run.count)
        }
        let fields = pieces.compactMap { if case .field(let name, _) = $0 { name } else { nil } }
        guard Set(fields).count == fields.count, ["y", "M", "d"].allSatisfy(fields.contains) else { return nil }
        self.pattern = pattern
        self.pieces = pieces
        self.offsetSeconds = offsetSeconds
    }

    /// Whether the pattern has a time of day.
    var hasTime: Bool { pieces.contains { if case .field("H", _) = $0 { true } else { false } } }

    /// `text` read by the pattern; nil when it does not fit or is not on the calendar.
    func parse(_ text: String) -> Moment? {
        var characters = Array(text.trimmingCharacters(in: .whitespaces))[...]
        var values: [Character: Int] = [:]
        for piece in pieces {
            switch piece {
            case .literal(let character):
                guard characters.first == character else { return nil }
                characters = characters.dropFirst()
            case .field(let name, let width):
                let digits = characters.prefix(width)
                guard digits.count == width, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                    let number = Int(String(digits))
                else { return nil }
                values[name] = number
                characters = characters.dropFirst(width)
            }
        }
        guard characters.isEmpty, let year = values["y"], let month = values["M"], let day = values["d"],
            let date = CivilDate(year: year, month: month, day: day)
        else { return nil }
        let hour = values["H"] ?? 0
        let minute = values["m"] ?? 0
        let second = values["s"] ?? 0
        guard hour < 24, minute < 60, second < 60 else { return nil }
        return Moment(date: date, hour: hour, minute: minute, second: second, offsetSeconds: offsetSeconds)
    }

    /// An ISO date (`2026-12-02`) or RFC 3339 date-time written in this pattern (the request
    /// direction: `{input.birthDate|date:yyyyMMdd}`); nil when `text` is neither.
    func format(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10, let date = CivilDate(String(decoding: bytes[0..<10], as: UTF8.self)) else {
            return nil
        }
        var hour = 0, minute = 0, second = 0
        if bytes.count > 10 {
            guard let seconds = PushClock.parse(text) else { return nil }
            let local = seconds + Int64(offsetSeconds)
            let inDay = Int(local - Int64(Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)) * 86_400)
            hour = inDay / 3600
            minute = inDay / 60 % 60
            second = inDay % 60
            let localDate = CivilDate(daysSinceEpoch: Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400))
            return render(localDate, hour, minute, second)
        }
        return render(date, hour, minute, second)
    }

    private func render(_ date: CivilDate, _ hour: Int, _ minute: Int, _ second: Int) -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let character): out.append(character)
            case .field("y", _): out += String(format: "%04d", date.year)
            case .field("M", _): out += String(format: "%02d", date.month)
            case .field("d", _): out += String(format: "%02d", date.day)
            case .field("H", _): out += String(format: "%02d", hour)
            case .field("m", _): out += String(format: "%02d", minute)
            case .field(_, _): out += String(format: "%02d", second)
            }
        }
        return out
    }
}

extension FieldRecipe {
    /// The members a recipe object may have.
    static let fields: Set<String> = [
        "path", "concat", "type", "array", "codes", "default", "date", "datetime", "zone", "each",
    ]

    /// Compiles a recipe object at `path`; nil (with problems reported) when it cannot be.
    static func load(_ object: [String: Any], at path: String, reader: ConfigReader, depth: Int = 0) -> FieldRecipe? {
        reader.checkFields(object, at: path, allowed: fields)
        let before = reader.problems.count
        var source: Source?
        if let text = object["path"] {
            guard let sourcePath = text as? String, ManifestValidation.isValidSourcePath(sourcePath) else {
                reader.report("\(path).path", "must be a path like $.data.amount, $.items[0].id or $.items[*].id")
                return nil
            }
            source = .path(ResponsePlan.steps(of: sourcePath))
            if object["concat"] != nil { reader.report(path, "takes path or concat, not both") }
        } else if let raw = object["concat"] {
            guard let items = raw as? [Any], !items.isEmpty, items.allSatisfy({ $0 is String }) else {
                reader.report("\(path).concat", "must list paths ($.…) and literal texts")
                return nil
            }
            source = .concat(
                items.compactMap { $0 as? String }.map { item in
                    ManifestValidation.isValidSourcePath(item) ? .path(ResponsePlan.steps(of: item)) : .literal(item)
                })
        } else {
            reader.report(path, "needs path or concat")
            return nil
        }
        guard let source else { return nil }
        var recipe = FieldRecipe(source: source)
        if let text = reader.string(object, "type", at: path, required: false) {
            recipe.type = ValueType(rawValue: text)
            if recipe.type == nil { reader.report("\(path).type", "must be string, number, integer or boolean") }
        }
        recipe.alwaysArray = reader.boolean(object, "array", at: path) ?? false
        if let raw = object["codes"] {
            guard let table = reader.object(raw, at: "\(path).codes"), !table.isEmpty,
                table.values.allSatisfy({ $0 is String })
            else {
                reader.report("\(path).codes", "must map backend codes to texts, like {\"1\": \"normal\"}")
                return nil
            }
            recipe.codes = table.compactMapValues { $0 as? String }
            recipe.codeDefault = reader.string(object, "default", at: path, required: false)
        } else if object["default"] != nil {
            reader.report("\(path).default", "is the text for codes the table does not list: it needs codes")
        }
        var offset = 8 * 3600
        if let zone = reader.string(object, "zone", at: path, required: false) {
            if let seconds = Self.offset(zone) {
                offset = seconds
            } else {
                reader.report("\(path).zone", "must be an offset like +08:00 or Z")
            }
        }
        for key in ["date", "datetime"] {
            guard let pattern = reader.string(object, key, at: path, required: false) else { continue }
            guard let compiled = DatePattern(pattern, offsetSeconds: offset) else {
                reader.report(
                    "\(path).\(key)", "must be a pattern of yyyy, MM, dd, HH, mm, ss and separators, like yyyyMMdd")
                continue
            }
            if key == "date" { recipe.date = compiled } else { recipe.datetime = compiled }
        }
        if recipe.date != nil && recipe.datetime != nil { reader.report(path, "takes date or datetime, not both") }
        if recipe.date != nil && recipe.date?.hasTime == true {
            reader.report("\(path).date", "has a time of day: use datetime")
        }
        if let raw = object["each"] {
            guard depth < 4 else {
                reader.report("\(path).each", "is nested too deeply (at most four levels)")
                return nil
            }
            guard let members = reader.object(raw, at: "\(path).each"), !members.isEmpty else {
                reader.report("\(path).each", "must map field names to recipes")
                return nil
            }
            var each: [(String, FieldRecipe)] = []
            for name in members.keys.sorted() {
                let memberPath = "\(path).each.\(name)"
                if let text = members[name] as? String {
                    if ManifestValidation.isValidSourcePath(text) {
                        each.append((name, FieldRecipe(source: .path(ResponsePlan.steps(of: text)))))
                    } else {
                        reader.report(memberPath, "must be a path like $.Date or a recipe object")
                    }
                } else if let nested = reader.object(members[name], at: memberPath),
                    let compiled = load(nested, at: memberPath, reader: reader, depth: depth + 1)
                {
                    each.append((name, compiled))
                }
            }
            recipe.each = each
            if recipe.codes != nil || recipe.date != nil || recipe.datetime != nil || recipe.type != nil {
                reader.report(path, "each maps elements with recipes of their own: no codes, date or type beside it")
            }
        }
        return reader.problems.count == before ? recipe : nil
    }

    /// `+08:00`, `-05:30`, `Z` in seconds east of UTC.
    static func offset(_ text: String) -> Int? {
        if text == "Z" { return 0 }
        let bytes = Array(text.utf8)
        guard bytes.count == 6, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
            bytes[3] == UInt8(ascii: ":"),
            let hours = Int(String(decoding: bytes[1..<3], as: UTF8.self)),
            let minutes = Int(String(decoding: bytes[4..<6], as: UTF8.self)), hours < 24, minutes < 60
        else { return nil }
        return (hours * 3600 + minutes * 60) * (bytes[0] == UInt8(ascii: "-") ? -1 : 1)
    }
}

extension FieldRecipe {
    /// The JSON Schema of what the recipe answers (for the OpenAPI document); `null` is allowed
    /// wherever the backend may leave the value out.
    var jsonSchema: [String: Any] {
        if let each {
            var properties: [String: Any] = [:]
            for (name, recipe) in each { properties[name] = recipe.jsonSchema }
            return ["type": "array", "items": ["type": "object", "properties": properties]]
        }
        var scalar: [String: Any]
        if let type {
            scalar = ["type": [type.rawValue, "null"]]
        } else if date != nil {
            scalar = ["type": ["string", "null"], "format": "date"]
        } else if datetime != nil {
            scalar = ["type": ["string", "null"], "format": "date-time"]
        } else if let codes {
            scalar = [
                "type": ["string", "null"],
                "enum": Array(Set(codes.values).union(codeDefault.map { [$0] } ?? [])).sorted() + [NSNull()],
            ]
        } else if case .concat = source {
            scalar = ["type": "string"]
        } else {
            scalar = [:]
        }
        return alwaysArray ? ["type": "array", "items": scalar] : scalar
    }
}
