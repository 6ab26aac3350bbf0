import HTTPCore

/// A response mapping compiled for the call path: output members in the order they are written
/// (keys sorted by their UTF-8 bytes, as ``JSONWriter`` sorts), each key already quoted, each
/// source path already split into steps. Built when the mapping changes (at load), so a call
/// builds no dictionary, sorts nothing and parses no path.
struct ResponsePlan: Sendable {
    /// One step of a source path.
    enum Step: Sendable, Equatable {
        case member(String)
        case index(Int)
        /// `[*]`: every element (a single object, as one repeated XML element reads, is one).
        case all
    }

    /// Where an output member's value comes from.
    enum Source: Sendable {
        case path([Step])
        case constant(String)
        /// A field with a type, transforms or a shape of its own (``FieldRecipe``).
        case recipe(FieldRecipe)
    }

    /// One output member: `"name":` as bytes, and its source.
    struct Member: Sendable {
        let prefix: [UInt8]
        let source: Source
    }

    let members: [Member]

    init(fields: [(String, String)], constants: [(String, String)], recipes: [(String, FieldRecipe)] = []) {
        var sources: [String: Source] = [:]
        for (name, path) in fields { sources[name] = .path(Self.steps(of: path)) }
        for (name, recipe) in recipes { sources[name] = .recipe(recipe) }
        // A constant wins over a field of the same name (it is written last in the manifest's model).
        for (name, text) in constants { sources[name] = .constant(text) }
        members = sources.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { name, source in
            var prefix: [UInt8] = []
            JSONText.appendQuoted(name, to: &prefix)
            prefix.append(UInt8(ascii: ":"))
            return Member(prefix: prefix, source: source)
        }
    }

    /// `$.a.b[0]` as `[.member("a"), .member("b"), .index(0)]`. A remainder that is not of that
    /// shape becomes a step no document has (paths are validated at load, so only a bug gets here).
    static func steps(of path: String) -> [Step] {
        var steps: [Step] = []
        var rest = Substring(path.dropFirst())
        while !rest.isEmpty {
            if rest.hasPrefix(".") {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                rest = rest.dropFirst(name.count)
                steps.append(.member(String(name)))
            } else if rest.hasPrefix("[*]") {
                steps.append(.all)
                rest = rest.dropFirst(3)
            } else if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                steps.append(.index(Int(rest[rest.index(after: rest.startIndex)..<close]) ?? -1))
                rest = rest[rest.index(after: close)...]
            } else {
                // Not a path: a step no document has, so the value is absent.
                steps.append(.index(-1))
                break
            }
        }
        return steps
    }

    /// The value at `steps` in a decoded document, if present.
    static func value(at steps: [Step], in document: JSONValue) -> JSONValue? {
        var current = document
        for (position, step) in steps.enumerated() {
            switch step {
            case .all:
                let elements: [JSONValue]
                if case .array(let list) = current { elements = list } else { elements = [current] }
                let rest = Array(steps[(position + 1)...])
                return .array(elements.compactMap { value(at: rest, in: $0) })
            case .member(let name):
                guard case .object(let members) = current, let next = members[name] else { return nil }
                current = next
            case .index(let index):
                guard case .array(let elements) = current, elements.indices.contains(index) else { return nil }
                current = elements[index]
            }
        }
        return current
    }
}
