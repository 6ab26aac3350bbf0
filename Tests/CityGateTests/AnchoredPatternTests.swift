import Foundation
import Testing

@testable import CityGate

/// The regex-free matcher for anchored schema patterns: it must accept exactly what ICU accepts
/// for whole values (ICU's `$` replaced by `\z`, the ECMA-262 meaning JSON Schema names), and
/// leave every other pattern to Foundation.
@Suite struct AnchoredPatternTests {
    static let supported: [String] = [
        "^[a-z0-9-]{2,32}$",
        "^[0-9]{6}-[0-9]{4}-[0-9]{6}$",
        "^[A-Z][A-Z0-9]{5,6}$",
        "^[0-9A-Z]{6}$",
        "^3301[0-9]{2}$",
        "^a*a*b$",
        "^[^0-9]+$",
        "^[-a]?b+$",
        "^x{2,}y{0,1}$",
        "^\\.\\-[a\\]]*$",
        "^杭州[0-9]+号$",
        "^$",
        "^[a-c][b-d]*c?$",
    ]

    static let unsupported: [String] = [
        "[a-z]+", "^[a-z]+", "[a-z]+$", "^(ab)+$", "^a|b$", "^\\d{6}$", "^.+$", "^\\w+$", "^a+?$", "^a*+$",
        "^[[:alpha:]]+$", "^[a-z&&[^x]]$", "^a\\$", "^[]a]$", "^[z-a]$", "^a{3,1}$", "^a{x}$", "^\\s$", "^a{2}{3}$",
        // Found by the fuzzer: ICU reads `--` in a class as set difference.
        "^[a-z--90]{2,32}$", "^[a-z-9]$", "^[a--]$",
    ]

    @Test(arguments: supported)
    func supportedPatternsCompile(_ pattern: String) {
        #expect(AnchoredPattern(pattern) != nil)
    }

    @Test(arguments: unsupported)
    func otherPatternsAreLeftToFoundation(_ pattern: String) {
        #expect(AnchoredPattern(pattern) == nil)
    }

    static func icu(_ pattern: String) throws -> NSRegularExpression {
        try NSRegularExpression(pattern: String(pattern.dropLast()) + "\\z")
    }

    static func icuMatches(_ expression: NSRegularExpression, _ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(location: 0, length: text.utf16.count)) != nil
    }

    static let samples: [String] = [
        "", "a", "b", "ab", "aab", "west-lake", "w", "x", "xx", "xxy", "xxyy", "330100", "3301001", "330101",
        "330100-2026-000001", "330100-2026-00001", "ZA12345", "ZA1234", "Z", "A1B2C3", "a1b2c3", "杭州12号", "杭州号",
        ".-a]]", ".-", "-b", "bbb", "--b", "abc", "acc", "bc", "west-lake\n", "abc\n", "😀", "a😀b", "xyz",
    ]

    @Test(arguments: supported)
    func agreesWithICUOnSamples(_ pattern: String) throws {
        let anchored = try #require(AnchoredPattern(pattern))
        let expression = try Self.icu(pattern)
        for text in Self.samples {
            #expect(
                anchored.matches(text) == Self.icuMatches(expression, text), "\(pattern) on \(text.debugDescription)")
        }
    }

    @Test(arguments: supported)
    func agreesWithICUOnRandomValues(_ pattern: String) throws {
        let anchored = try #require(AnchoredPattern(pattern))
        let expression = try Self.icu(pattern)
        let alphabet: [Character] = ["a", "b", "c", "x", "y", "z", "A", "Z", "0", "3", "9", "-", ".", "]", "杭", "\n"]
        var generator = SplitMix(seed: UInt64(truncatingIfNeeded: pattern.hashValue & 0xFFFF))
        for _ in 0..<2_000 {
            let length = Int(generator.next() % 12)
            let text = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            #expect(
                anchored.matches(text) == Self.icuMatches(expression, text), "\(pattern) on \(text.debugDescription)")
        }
    }

    @Test
    func aTrailingLineBreakDoesNotSlipThrough() throws {
        // ICU's `$` also matches before a final "\n"; a schema pattern must not.
        let schema = try InputSchemaTests.schema(#"{"type":"string","pattern":"^[a-z-]{2,32}$"}"#)
        #expect(schema.validate(.string("west-lake")).isEmpty)
        #expect(
            schema.validate(.string("west-lake\n")).map(\.description) == ["$: must match the pattern ^[a-z-]{2,32}$"])
    }

    @Test
    func nestedStarsStayLinear() throws {
        // A backtracking engine takes exponential time on this shape; the position sets do not.
        let anchored = try #require(AnchoredPattern("^a*a*a*a*a*a*a*a*b$"))
        #expect(!anchored.matches(String(repeating: "a", count: 20_000)))
        #expect(anchored.matches(String(repeating: "a", count: 20_000) + "b"))
    }
}
