import Foundation

extension InputSchema {
    /// Compiles a manifest's schema object, reporting problems as `file: json-path: message`.
    static func compile(_ value: Any, at path: String, reader: ConfigReader) -> InputSchema? {
        guard let object = reader.object(value, at: path) else { return nil }
        reader.checkFields(object, at: path, allowed: keywords)
        var types: [ValueType]?
        switch object["type"] {
        case nil: types = nil
        case let single as String:
            if let type = ValueType(rawValue: single) {
                types = [type]
            } else {
                reader.report("\(path).type", "unknown type '\(single)'")
            }
        case let list as [Any]:
            types = list.compactMap { ($0 as? String).flatMap(ValueType.init(rawValue:)) }
            if types?.count != list.count { reader.report("\(path).type", "must list known types") }
        default: reader.report("\(path).type", "must be a type name or a list of them")
        }
        var properties: [String: InputSchema] = [:]
        var order: [String] = []
        if let raw = object["properties"] {
            if let map = reader.object(raw, at: "\(path).properties") {
                for name in map.keys.sorted() {
                    order.append(name)
                    if let nested = map[name],
                        let schema = compile(nested, at: "\(path).properties.\(name)", reader: reader)
                    {
                        properties[name] = schema
                    }
                }
            }
        }
        var required: [String] = []
        if let raw = object["required"] {
            if let list = raw as? [String] {
                required = list
                for name in list where properties[name] == nil && object["properties"] != nil {
                    reader.report("\(path).required", "names '\(name)', which is not in properties")
                }
            } else {
                reader.report("\(path).required", "must be a list of property names")
            }
        }
        let additional = reader.boolean(object, "additionalProperties", at: path) ?? true
        let items = object["items"].flatMap { compile($0, at: "\(path).items", reader: reader) }
        var enumeration: [String]?
        if let raw = object["enum"] {
            if let list = raw as? [Any], !list.isEmpty {
                enumeration = list.map { JSONValue(foundation: $0).map(InputSchema.canonicalText) ?? "" }
            } else {
                reader.report("\(path).enum", "must be a non-empty list")
            }
        }
        if let constant = object["const"] {
            enumeration = [JSONValue(foundation: constant).map(InputSchema.canonicalText) ?? ""]
        }
        let pattern = reader.string(object, "pattern", at: path, required: false)
        if let pattern, (try? NSRegularExpression(pattern: pattern)) == nil {
            reader.report("\(path).pattern", "is not a valid regular expression")
        }
        var format: InputFormat?
        if let name = reader.string(object, "format", at: path, required: false) {
            format = InputFormat(rawValue: name)
            if format == nil {
                reader.report(
                    "\(path).format",
                    "unknown format '\(name)' (known: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        func bound(_ key: String) -> Double? {
            guard let raw = object[key] else { return nil }
            guard let number = raw as? NSNumber, String(cString: number.objCType) != "c" else {
                reader.report("\(path).\(key)", "must be a number")
                return nil
            }
            return number.doubleValue
        }
        let counts = 0...1_000_000
        let schema = InputSchema(
            types: types, properties: properties, propertyOrder: order, required: required,
            additionalProperties: additional,
            items: items, enumeration: enumeration, pattern: pattern,
            minLength: reader.integer(object, "minLength", at: path, range: counts),
            maxLength: reader.integer(object, "maxLength", at: path, range: counts), minimum: bound("minimum"),
            maximum: bound("maximum"), minItems: reader.integer(object, "minItems", at: path, range: counts),
            maxItems: reader.integer(object, "maxItems", at: path, range: counts), format: format)
        if let minimum = schema.minimum, let maximum = schema.maximum, minimum > maximum {
            reader.report("\(path).minimum", "is greater than maximum")
        }
        if let minLength = schema.minLength, let maxLength = schema.maxLength, minLength > maxLength {
            reader.report("\(path).minLength", "is greater than maxLength")
        }
        return schema
    }

    /// Compiles a schema from JSON text (for tests and tools); problems name `file`.
    public static func compile(json: String, file: String = "schema.json") -> Result<InputSchema, ConfigProblems> {
        let reader = ConfigReader(file: file)
        guard let document = reader.document(Data(json.utf8)), let schema = compile(document, at: "$", reader: reader),
            reader.problems.isEmpty
        else { return .failure(ConfigProblems(problems: reader.problems)) }
        return .success(schema)
    }
}
