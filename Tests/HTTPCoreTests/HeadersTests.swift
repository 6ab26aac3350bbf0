import HTTPCore
import Testing

@Suite("Header field names")
struct HeadersTests {
    /// (lhs, rhs, equal): ASCII case folds; nothing else does.
    static let names: [(String, String, Bool)] = [
        ("Content-Type", "content-type", true),
        ("CONTENT-TYPE", "content-type", true),
        ("x-request-id", "X-Request-Id", true),
        ("", "", true),
        ("a", "A", true),
        ("traceparent", "traceparent", true),
        // Long names (not stored inline) fold the same way.
        ("X-A-Very-Long-Field-Name-Stored-On-The-Heap", "x-a-very-long-field-name-stored-on-the-heap", true),
        ("Content-Type", "Content-Typf", false),
        ("Content-Type", "Content-Type ", false),
        ("Content-Type", "ContentType", false),
        ("a", "", false),
        ("", "a", false),
        // Only ASCII letters fold: '[' is not '{' though they differ by 0x20, nor é É.
        ("[", "{", false),
        ("@", "`", false),
        ("é", "É", false),
        ("é", "é", true),
        // The same length in bytes, other bytes.
        ("ab", "é", false),
    ]

    @Test(arguments: names)
    func namesCompareASCIICaseInsensitively(_ lhs: String, _ rhs: String, _ equal: Bool) {
        #expect(Headers.equalNames(lhs, rhs) == equal)
        #expect(Headers.equalNames(rhs, lhs) == equal)
    }

    @Test func lookupsFindAnyCaseAndKeepOrder() {
        var headers = Headers()
        headers.add(name: "Set-Cookie", value: "a=1")
        headers.add(name: "content-type", value: "text/plain")
        headers.add(name: "SET-COOKIE", value: "b=2")
        #expect(headers["Content-Type"] == "text/plain")
        #expect(headers.values(for: "set-cookie") == ["a=1", "b=2"])
        #expect(headers.contains("CONTENT-TYPE"))
        #expect(!headers.contains("Content-Length"))
        headers.remove(name: "set-cookie")
        #expect(headers.values(for: "Set-Cookie").isEmpty)
        #expect(headers["content-type"] == "text/plain")
    }
}
