/// Reads JSON text (RFC 8259) into ``JSONValue`` straight from bytes.
///
/// Strict where the RFC is: no comments, trailing commas, leading zeros, single quotes, control
/// characters in strings, lone surrogates or invalid UTF-8. It also refuses what a gateway must
/// not pass on: numbers outside Double's range, nesting past `maxDepth` (a deep body must not
/// exhaust the stack), and, when asked, an object naming a member twice (RFC 8259 §4 leaves the
/// meaning open, so two readers of the same body could disagree). Failures name the byte offset
/// and the rule, never the input's content: bodies carry ID-card and phone numbers.
public struct JSONReader {
    /// Why the text is not JSON.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// Offset of the offending byte from the start of the text.
        public let offset: Int
        /// The rule the text breaks.
        public let reason: String
        /// `at byte N: reason`.
        public var description: String { "at byte \(offset): \(reason)" }
    }

    /// Nesting allowed by default: far past any government form, far below the stack's limit.
    public static let defaultMaxDepth = 64

    /// Parses `bytes` as one JSON value (any type at the top level), with whitespace around it.
    public static func parse(
        _ bytes: [UInt8], maxDepth: Int = defaultMaxDepth, rejectDuplicateNames: Bool = true
    ) throws(Failure) -> JSONValue {
        try parse(bytes[...], maxDepth: maxDepth, rejectDuplicateNames: rejectDuplicateNames)
    }

    /// Parses a slice of bytes as one JSON value.
    public static func parse(
        _ bytes: ArraySlice<UInt8>, maxDepth: Int = defaultMaxDepth, rejectDuplicateNames: Bool = true
    ) throws(Failure) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<JSONValue, Failure> in
            var reader = JSONReader(bytes: buffer, maxDepth: maxDepth, rejectDuplicateNames: rejectDuplicateNames)
            return Result { () throws(Failure) -> JSONValue in try reader.document() }
        }
        return try result.get()
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private let rejectDuplicateNames: Bool
    private var index = 0
    private var depth = 0

    private init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, rejectDuplicateNames: Bool) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.rejectDuplicateNames = rejectDuplicateNames
    }

    private func failure(_ reason: String) -> Failure {
        Failure(offset: index, reason: reason)
    }

    private mutating func document() throws(Failure) -> JSONValue {
        // A UTF-8 byte order mark is not JSON, but RFC 8259 §8.1 lets a reader ignore it.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
        let value = try value()
        skipWhitespace()
        guard index == bytes.count else { throw failure("unexpected text after the JSON value") }
        return value
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func value() throws(Failure) -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw failure("unexpected end of the text, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw failure("expected a value (object, array, string, number, true, false or null)")
        }
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= maxDepth else { throw failure("nested deeper than \(maxDepth) levels") }
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try enter()
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure("expected a member name in double quotes")
            }
            let nameOffset = index
            let name = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw failure("expected ':' after a member name")
            }
            index += 1
            let member = try value()
            if members.updateValue(member, forKey: name) != nil, rejectDuplicateNames {
                throw Failure(offset: nameOffset, reason: "a member name appears twice in one object")
            }
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of the text inside an object") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(members)
            default:
                throw failure("expected ',' or '}' after an object member")
            }
        }
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            elements.append(try value())
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of the text inside an array") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(elements)
            default:
                throw failure("expected ',' or ']' after an array element")
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw failure("expected \(word)") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("expected \(word)")
        }
        index += count
    }

    private func isDigit(_ position: Int) -> Bool {
        position < bytes.count && bytes[position] >= UInt8(ascii: "0") && bytes[position] <= UInt8(ascii: "9")
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { throw failure("expected a digit in a number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1  // no leading zeros: "01" stops after the 0, and the caller refuses the 1
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw failure("expected a digit after the decimal point") }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard isDigit(index) else { throw failure("expected a digit in the exponent") }
            while isDigit(index) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            throw Failure(offset: start, reason: "number outside the range of a 64-bit float")
        }
        return .number(text)
    }

    /// A string's content, the index on its opening quote.
    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        // Most strings have no escapes: validate and copy them in one go.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = try utf8(UnsafeBufferPointer(rebasing: bytes[start..<index]), at: start)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("a control character inside a string must be escaped") }
            index += 1
        }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try scratch.withUnsafeBufferPointer { buffer throws(Failure) in try utf8(buffer, at: start) }
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(escape)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"): Unicode.UTF8.encode(try unicodeEscape()) { scratch.append($0) }
                default:
                    index -= 1
                    throw failure("invalid escape sequence in a string")
                }
            default:
                guard byte >= 0x20 else { throw failure("a control character inside a string must be escaped") }
                scratch.append(byte)
                index += 1
            }
        }
        throw failure("unterminated string")
    }

    private func utf8(_ buffer: UnsafeBufferPointer<UInt8>, at offset: Int) throws(Failure) -> String {
        guard let text = String(validating: buffer, as: UTF8.self) else {
            throw Failure(offset: offset, reason: "a string is not valid UTF-8")
        }
        return text
    }

    /// The scalar of `\uXXXX` (the index after the `u`), joining a surrogate pair.
    private mutating func unicodeEscape() throws(Failure) -> Unicode.Scalar {
        let high = try hex4()
        var value = high
        if (0xD800...0xDBFF).contains(high) {
            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else { throw failure("a high surrogate must be followed by a low one") }
            index += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw failure("a high surrogate must be followed by a low one")
            }
            value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(high) {
            throw failure("a low surrogate without a high one")
        }
        guard let scalar = Unicode.Scalar(value) else { throw failure("invalid \\u escape") }
        return scalar
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("\\u needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
