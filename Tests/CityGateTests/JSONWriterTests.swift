import Foundation
import Testing

@testable import CityGate

/// The gateway's own JSON writer (the call path's answers and backend bodies): exact bytes for
/// every value kind, escapes, and agreement with Foundation's reader on what it wrote.
@Suite struct JSONWriterTests {
    /// Values the gateway builds itself, and the bytes they must become.
    static var swiftValues: [(String, Any, String)] {
        [
            ("empty object", [String: Any](), "{}"),
            ("empty array", [Any](), "[]"),
            ("keys in byte order", ["b": 1, "a": 2, "B": 3, "aa": 4] as [String: Any], #"{"B":3,"a":2,"aa":4,"b":1}"#),
            (
                "nested", ["list": [1, "two", NSNull(), true] as [Any]] as [String: Any],
                #"{"list":[1,"two",null,true]}"#
            ),
            ("Swift booleans", ["yes": true, "no": false] as [String: Any], #"{"no":false,"yes":true}"#),
            (
                "Int64 and UInt8", ["big": Int64(9_007_199_254_740_993), "small": UInt8(7)] as [String: Any],
                #"{"big":9007199254740993,"small":7}"#
            ),
            ("negative", ["n": -42] as [String: Any], #"{"n":-42}"#),
            ("integral double", ["d": 3.0] as [String: Any], #"{"d":3}"#),
            ("fraction", ["d": 1.5] as [String: Any], #"{"d":1.5}"#),
            ("quote and backslash", ["s": #"a"b\c"#] as [String: Any], #"{"s":"a\"b\\c"}"#),
            ("controls", ["s": "line\nbreak\ttab\u{01}"] as [String: Any], #"{"s":"line\nbreak\ttab\u0001"}"#),
            ("slash kept", ["url": "https://gov.cn/a"] as [String: Any], #"{"url":"https://gov.cn/a"}"#),
            ("line separator escaped", ["s": "a\u{2028}b"] as [String: Any], #"{"s":"a\u2028b"}"#),
            ("Chinese text unescaped", ["name": "杭州市民卡"] as [String: Any], #"{"name":"杭州市民卡"}"#),
            ("escaped key", ["k\"": 1] as [String: Any], #"{"k\"":1}"#),
            ("top-level string", "plain", #""plain""#),
        ]
    }

    @Test(arguments: swiftValues.indices)
    func writesExactBytes(_ index: Int) {
        let (name, value, expected) = Self.swiftValues[index]
        #expect(JSONWriter.text(value) == expected, "\(name)")
    }

    /// Documents as Foundation's reader returns them (NSNumber booleans and numbers, NSNull),
    /// and what the writer makes of them.
    static let parsedDocuments: [(String, String)] = [
        (
            #"{"ok":true,"off":false,"n":0,"one":1,"pi":3.25,"big":12345678901234,"neg":-7,"nil":null}"#,
            #"{"big":12345678901234,"n":0,"neg":-7,"nil":null,"off":false,"ok":true,"one":1,"pi":3.25}"#
        ),
        (
            #"{"nested":{"s":"x\"y","list":[{"a":[]},{"b":{}}]}}"#,
            #"{"nested":{"list":[{"a":[]},{"b":{}}],"s":"x\"y"}}"#
        ),
        (#"[1,2,3,"四",false]"#, #"[1,2,3,"四",false]"#),
        (#"{"emoji":"😀","tab":"\t"}"#, #"{"emoji":"😀","tab":"\t"}"#),
    ]

    @Test(arguments: parsedDocuments)
    func writesWhatFoundationReads(_ input: String, _ expected: String) throws {
        let parsed = try JSONSerialization.jsonObject(with: Data(input.utf8))
        let written = try #require(JSONWriter.text(parsed))
        #expect(written == expected)
        // And it reads back to the same document.
        let reparsed = try JSONSerialization.jsonObject(with: Data(written.utf8))
        #expect(JSONWriter.text(reparsed) == expected)
    }

    static var unrepresentable: [(String, Any)] {
        [
            ("infinity", ["x": Double.infinity] as [String: Any]),
            ("not a number", ["x": Double.nan] as [String: Any]),
            ("a date", ["x": Date()] as [String: Any]),
            ("deep inside an array", ["x": [1, Data()] as [Any]] as [String: Any]),
        ]
    }

    @Test(arguments: unrepresentable.indices)
    func refusesWhatJSONCannotRepresent(_ index: Int) {
        let (name, value) = Self.unrepresentable[index]
        #expect(JSONWriter.encode(value) == nil, "\(name)")
    }
}
