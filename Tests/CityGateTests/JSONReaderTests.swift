import Foundation
import Testing

@testable import CityGate

/// The call path's JSON reader: every value kind, every malformed variant with its offset and
/// rule, the limits a gateway needs, and agreement with Foundation's reader and our writer.
@Suite struct JSONReaderTests {
    static let valid: [(String, String, JSONValue)] = [
        ("empty object", "{}", .object([:])),
        ("empty array", "[ ]", .array([])),
        ("whitespace around", " \t\r\n{\"a\" : 1 }\n", .object(["a": .number("1")])),
        ("literals", "[true,false,null]", .array([.bool(true), .bool(false), .null])),
        ("top-level string", #""plain""#, .string("plain")),
        ("top-level number", "-0", .number("-0")),
        (
            "numbers keep their text", "[0,10,-3.25,1e3,2E-2,0.10,12345678901234567890]",
            .array([
                .number("0"), .number("10"), .number("-3.25"), .number("1e3"), .number("2E-2"), .number("0.10"),
                .number("12345678901234567890"),
            ])
        ),
        ("escapes", #""\"\\\/\b\f\n\r\t""#, .string("\"\\/\u{08}\u{0C}\n\r\t")),
        ("unicode escape", #""\u676d\u5DDE""#, .string("杭州")),
        ("surrogate pair", #""\ud83d\ude00""#, .string("😀")),
        ("raw UTF-8", #"{"name":"张三","city":"杭州"}"#, .object(["name": .string("张三"), "city": .string("杭州")])),
        ("escape after raw text", #""ab\ncd""#, .string("ab\ncd")),
        (
            "nested", #"{"a":{"b":[{"c":[]}]}}"#,
            .object(["a": .object(["b": .array([.object(["c": .array([])])])])])
        ),
        ("byte order mark ignored", "\u{FEFF}{}", .object([:])),
        ("NUL escaped", #""a\u0000b""#, .string("a\u{0}b")),
    ]

    @Test(arguments: valid.indices)
    func readsValidText(_ index: Int) throws {
        let (name, text, expected) = Self.valid[index]
        #expect(try JSONReader.parse(Array(text.utf8)) == expected, "\(name)")
    }

    /// Text that is not JSON, where it goes wrong, and the rule named.
    static let malformed: [(String, [UInt8], Int, String)] = [
        ("empty", [], 0, "unexpected end of the text, expected a value"),
        ("only whitespace", Array("  ".utf8), 2, "unexpected end of the text, expected a value"),
        ("unterminated object", Array(#"{"a":1"#.utf8), 6, "unexpected end of the text inside an object"),
        ("unterminated array", Array("[1,2".utf8), 4, "unexpected end of the text inside an array"),
        ("unterminated string", Array(#"{"a":"x"#.utf8), 7, "unterminated string"),
        ("trailing comma in object", Array(#"{"a":1,}"#.utf8), 7, "expected a member name in double quotes"),
        (
            "trailing comma in array", Array("[1,]".utf8), 3,
            "expected a value (object, array, string, number, true, false or null)"
        ),
        ("missing colon", Array(#"{"a" 1}"#.utf8), 5, "expected ':' after a member name"),
        ("missing comma", Array(#"{"a":1 "b":2}"#.utf8), 7, "expected ',' or '}' after an object member"),
        ("missing comma in array", Array("[1 2]".utf8), 3, "expected ',' or ']' after an array element"),
        ("single quotes", Array("{'a':1}".utf8), 1, "expected a member name in double quotes"),
        ("unquoted name", Array("{a:1}".utf8), 1, "expected a member name in double quotes"),
        ("comment", Array("{}//x".utf8), 2, "unexpected text after the JSON value"),
        ("two values", Array("{} {}".utf8), 3, "unexpected text after the JSON value"),
        ("leading zero", Array("[01]".utf8), 2, "expected ',' or ']' after an array element"),
        ("plus sign", Array("+1".utf8), 0, "expected a value (object, array, string, number, true, false or null)"),
        ("bare minus", Array("-".utf8), 1, "expected a digit in a number"),
        ("dot without digits", Array("1.".utf8), 2, "expected a digit after the decimal point"),
        ("leading dot", Array(".5".utf8), 0, "expected a value (object, array, string, number, true, false or null)"),
        ("exponent without digits", Array("1e+".utf8), 3, "expected a digit in the exponent"),
        ("number too large", Array("1e400".utf8), 0, "number outside the range of a 64-bit float"),
        ("NaN", Array("NaN".utf8), 0, "expected a value (object, array, string, number, true, false or null)"),
        ("misspelt true", Array("tru".utf8), 0, "expected true"),
        ("misspelt null", Array("nul1".utf8), 0, "expected null"),
        ("capitalised", Array("True".utf8), 0, "expected a value (object, array, string, number, true, false or null)"),
        ("raw newline in string", Array("\"a\nb\"".utf8), 2, "a control character inside a string must be escaped"),
        ("raw tab after an escape", Array("\"\\n\t\"".utf8), 3, "a control character inside a string must be escaped"),
        ("unknown escape", Array(#""\x41""#.utf8), 2, "invalid escape sequence in a string"),
        ("short unicode escape", Array(#""\u12""#.utf8), 3, "\\u needs four hex digits"),
        ("non-hex unicode escape", Array(#""\u12G4""#.utf8), 5, "\\u needs four hex digits"),
        ("lone high surrogate", Array(#""\ud83d""#.utf8), 7, "a high surrogate must be followed by a low one"),
        ("high then not low", Array(#""\ud83d\u0041""#.utf8), 13, "a high surrogate must be followed by a low one"),
        ("lone low surrogate", Array(#""\ude00""#.utf8), 7, "a low surrogate without a high one"),
        ("invalid UTF-8", [0x22, 0xC3, 0x28, 0x22], 1, "a string is not valid UTF-8"),
        ("overlong UTF-8", [0x22, 0xC0, 0xAF, 0x22], 1, "a string is not valid UTF-8"),
        (
            "truncated UTF-8 in a name", [0x7B, 0x22, 0xE6, 0x9D, 0x22, 0x3A, 0x31, 0x7D], 2,
            "a string is not valid UTF-8"
        ),
        ("duplicate name", Array(#"{"hall":"a","hall":"b"}"#.utf8), 12, "a member name appears twice in one object"),
        ("duplicate name nested", Array(#"{"x":{"k":1,"k":1}}"#.utf8), 12, "a member name appears twice in one object"),
        (
            "control byte outside strings", [0x5B, 0x01, 0x5D], 1,
            "expected a value (object, array, string, number, true, false or null)"
        ),
    ]

    @Test(arguments: malformed.indices)
    func refusesMalformedTextNamingWhereAndWhy(_ index: Int) {
        let (name, bytes, offset, reason) = Self.malformed[index]
        #expect(throws: JSONReader.Failure(offset: offset, reason: reason), "\(name)") {
            try JSONReader.parse(bytes)
        }
    }

    @Test
    func failuresNeverQuoteTheInput() {
        // An ID number in a broken body must not come back in the reason.
        let body = Array(#"{"idNumber":"330106199001011234" "x":1}"#.utf8)
        do {
            _ = try JSONReader.parse(body)
            Issue.record("parsed a broken body")
        } catch {
            #expect(!error.description.contains("330106"))
        }
    }

    @Test
    func duplicateNamesCanBeReadLastWins() throws {
        let text = Array(#"{"a":1,"a":2}"#.utf8)
        #expect(try JSONReader.parse(text, rejectDuplicateNames: false) == .object(["a": .number("2")]))
    }

    @Test(arguments: [(64, true), (65, false)])
    func nestingIsLimited(_ depth: Int, _ accepted: Bool) {
        let text = Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8)
        let result = Result { try JSONReader.parse(text) }
        #expect(((try? result.get()) != nil) == accepted)
        if !accepted {
            #expect(throws: JSONReader.Failure(offset: 64, reason: "nested deeper than 64 levels")) {
                try result.get()
            }
        }
    }

    @Test
    func aHostileDepthFailsWithoutExhaustingTheStack() {
        let text = Array(String(repeating: "{\"a\":", count: 200_000).utf8)
        #expect(throws: JSONReader.Failure.self) { try JSONReader.parse(text) }
    }

    /// Documents both readers accept: ours must build the same tree Foundation builds (compared
    /// through the writer, which writes both the same way).
    static let agreed: [String] = [
        #"{"ok":true,"off":false,"n":0,"one":1,"pi":3.25,"big":12345678901234,"neg":-7,"nil":null}"#,
        #"{"nested":{"s":"x\"y","list":[{"a":[]},{"b":{}}]}}"#,
        #"[1,2,3,"四",false,"\u00e9\n"]"#,
        #"{"emoji":"😀","tab":"\t","pair":"\ud83d\ude00"}"#,
        #"{"waiting":12,"eta_minutes":35,"updated_at":"2026-12-01T09:30:00+08:00"}"#,
    ]

    @Test(arguments: agreed)
    func buildsTheTreeFoundationBuilds(_ text: String) throws {
        let ours = JSONWriter.encode(try JSONReader.parse(Array(text.utf8)))
        let foundation = try #require(JSONWriter.encode(try JSONSerialization.jsonObject(with: Data(text.utf8))))
        #expect(String(decoding: ours, as: UTF8.self) == String(decoding: foundation, as: UTF8.self))
    }

    /// Mutated documents (bytes flipped, dropped, duplicated): the reader never crashes, and what
    /// it accepts survives writing and reading back unchanged.
    @Test
    func mutatedDocumentsEitherFailOrRoundTrip() throws {
        var generator = SplitMix(seed: 0x5EED)
        let seeds = Self.agreed.map { Array($0.utf8) } + Self.valid.map { Array($0.1.utf8) }
        let alphabet = Array(#"{}[],:"\ 0123456789.eE+-tfnul"#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xFF]
        var accepted = 0
        for round in 0..<5_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0...(generator.next() % 3) where !bytes.isEmpty {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[position] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: position)
                default: bytes.insert(bytes[position], at: position)
                }
            }
            guard let value = try? JSONReader.parse(bytes) else { continue }
            accepted += 1
            #expect(try JSONReader.parse(JSONWriter.encode(value)) == value)
        }
        #expect(accepted > 100, "the mutations should leave some documents valid")
    }
}

/// A small deterministic generator for the mutation test (reproducible failures).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
