/// An ordered list of HTTP fields.
///
/// Repeated fields are kept as separate entries in the order they arrived (RFC 9110 §5.3), and
/// names are compared case-insensitively without allocating.
public struct Headers: Sendable, Equatable {
    /// The fields in wire order.
    public private(set) var fields: [(name: String, value: String)]

    /// Creates an empty field list.
    public init() {
        self.fields = []
    }

    /// Adopts an already-labelled field list (the parser's), without copying it element by element.
    init(labelled fields: [(name: String, value: String)]) {
        self.fields = fields
    }

    /// Creates a field list from name/value pairs, keeping their order.
    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    /// The number of fields, repeated ones counted separately.
    public var count: Int { fields.count }

    /// The first value of the field named `name`, or nil.
    public subscript(name: String) -> String? {
        for field in fields where Headers.equalNames(field.name, name) {
            return field.value
        }
        return nil
    }

    /// Every value of the field named `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { Headers.equalNames($0.name, name) }.map(\.value)
    }

    /// Whether any field is named `name`.
    public func contains(_ name: String) -> Bool {
        fields.contains { Headers.equalNames($0.name, name) }
    }

    /// Makes room for `count` fields, so a list built up field by field grows once.
    public mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// Appends a field, keeping any existing ones with the same name.
    public mutating func add(name: String, value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every field named `name` with one field, or appends it.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        fields.append((name: name, value: value))
    }

    /// Removes every field named `name`.
    public mutating func remove(name: String) {
        fields.removeAll { Headers.equalNames($0.name, name) }
    }

    /// Compares two field names ASCII case-insensitively (field names are tokens, so ASCII).
    public static func equalNames(_ lhs: String, _ rhs: String) -> Bool {
        // Most names a lookup meets differ in length: answer those without a byte loop.
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        // Indexes, not iterators: the iterator over each view cost a witness call per byte
        // (1.5 % of a pipeline call's CPU), and borrowing the views' storage through a closure
        // retained both strings on every comparison.
        let left = lhs.utf8
        let right = rhs.utf8
        var leftIndex = left.startIndex
        var rightIndex = right.startIndex
        while leftIndex != left.endIndex {
            let a = left[leftIndex]
            let b = right[rightIndex]
            if a != b && ByteClass.lowercased(a) != ByteClass.lowercased(b) { return false }
            left.formIndex(after: &leftIndex)
            right.formIndex(after: &rightIndex)
        }
        return true
    }

    public static func == (lhs: Headers, rhs: Headers) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

extension Headers: Sequence {
    /// Iterates the fields in wire order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

extension Headers: ExpressibleByDictionaryLiteral {
    /// Creates a field list from a literal, keeping the literal's order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }
}
