import HTTPCore
import Testing

/// Requests that must parse, and exactly into what.
struct RequestParserValidTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let raw: String
        let method: String
        let path: String
        var query: String? = nil
        var version: Version = .http11
        var body: String = ""
        var keepAlive: Bool = true
        var headers: [(String, String)] = []
        var trailers: [(String, String)] = []
        var expectsContinue = false
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "simple GET", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", path: "/"),
        Case(
            name: "query split", raw: "GET /v1/cities/330100/services?lang=zh&x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
            method: "GET", path: "/v1/cities/330100/services", query: "lang=zh&x=1"),
        Case(
            name: "absolute-form", raw: "GET http://gw.example:8080/a/b?c=d HTTP/1.1\r\nHost: other\r\n\r\n",
            method: "GET", path: "/a/b", query: "c=d"),
        Case(
            name: "absolute-form without path", raw: "GET http://gw.example HTTP/1.1\r\nHost: gw.example\r\n\r\n",
            method: "GET", path: "/"),
        Case(name: "OPTIONS asterisk", raw: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", method: "OPTIONS", path: "*"),
        Case(
            name: "content-length body", raw: "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            method: "POST", path: "/e", body: "hello"),
        Case(
            name: "content-length zero", raw: "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
            method: "POST", path: "/e"),
        Case(
            name: "content-length leading zeros", raw: "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc",
            method: "POST", path: "/e", body: "abc"),
        Case(
            name: "chunked body",
            raw:
                "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            method: "POST", path: "/e", body: "hello world"),
        Case(
            name: "chunked upper-case hex and extensions",
            raw:
                "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA;name=value\r\n0123456789\r\n0;last\r\n\r\n",
            method: "POST", path: "/e", body: "0123456789"),
        Case(
            name: "chunked with whitespace before an extension (BWS, RFC 9112 §7.1.1)",
            raw: "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ;ext=1\r\nhello\r\n0\r\n\r\n",
            method: "POST", path: "/e", body: "hello"),
        Case(
            name: "chunked with trailers",
            raw:
                "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Digest: sha-256=abc\r\nX-Other: 1\r\n\r\n",
            method: "POST", path: "/e", body: "abc", trailers: [("X-Digest", "sha-256=abc"), ("X-Other", "1")]),
        Case(
            name: "transfer-encoding with OWS",
            raw: "POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked \r\n\r\n0\r\n\r\n",
            method: "POST", path: "/e"),
        Case(
            name: "repeated fields kept in order",
            raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\nX-A: 4\r\n\r\n",
            method: "GET", path: "/", headers: [("Host", "a"), ("X-A", "1"), ("x-a", "2"), ("X-B", "3"), ("X-A", "4")]),
        Case(
            name: "OWS trimmed, inner spaces kept", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-V: \t a  b \t\r\n\r\n",
            method: "GET", path: "/", headers: [("Host", "a"), ("X-V", "a  b")]),
        Case(
            name: "empty field value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
            method: "GET", path: "/", headers: [("Host", "a"), ("X-Empty", "")]),
        Case(
            name: "obs-text in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\u{e9}\r\n\r\n",
            method: "GET", path: "/", headers: [("Host", "a"), ("X-Name", "caf\u{e9}")]),
        Case(
            name: "HTTP/1.0 without Host closes", raw: "GET / HTTP/1.0\r\n\r\n", method: "GET", path: "/",
            version: .http10, keepAlive: false),
        Case(
            name: "HTTP/1.0 keep-alive", raw: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", method: "GET",
            path: "/", version: .http10, keepAlive: true),
        Case(
            name: "HTTP/1.1 Connection: close",
            raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n",
            method: "GET", path: "/", keepAlive: false),
        Case(
            name: "HTTP/1.2 treated as 1.1", raw: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", method: "GET", path: "/"),
        Case(
            name: "expect 100-continue",
            raw: "PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok",
            method: "PUT", path: "/u", body: "ok", expectsContinue: true),
        Case(
            name: "expect ignored in HTTP/1.0",
            raw: "PUT /u HTTP/1.0\r\nExpect: something\r\nContent-Length: 2\r\n\r\nok",
            method: "PUT", path: "/u", version: .http10, body: "ok", keepAlive: false),
        Case(
            name: "leading empty line ignored", raw: "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", path: "/"),
        Case(
            name: "extension method", raw: "PURGE /cache HTTP/1.1\r\nHost: a\r\n\r\n", method: "PURGE", path: "/cache"),
        Case(
            name: "IPv6 host with port", raw: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", method: "GET", path: "/"),
        Case(
            name: "empty Host allowed", raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n", method: "GET", path: "/"),
        Case(
            name: "body keeps raw bytes", raw: "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
            method: "POST", path: "/e", body: "{\"a\":1}"),
    ]

    @Test(arguments: cases, Feeding.allCases)
    func parsesValidRequest(_ testCase: Case, feeding: Feeding) throws {
        let result = feeding.parse(.http(testCase.raw))
        #expect(result.error == nil)
        let request = try #require(result.requests.first)
        #expect(result.requests.count == 1)
        #expect(request.method == testCase.method)
        #expect(request.path == testCase.path)
        #expect(request.query == testCase.query)
        #expect(request.head.version == testCase.version)
        #expect(request.body == Array(testCase.body.utf8))
        #expect(request.head.keepAlive == testCase.keepAlive)
        #expect(request.head.expectsContinue == testCase.expectsContinue)
        if !testCase.headers.isEmpty {
            #expect(request.headers == Headers(testCase.headers))
        }
        #expect(request.trailers == Headers(testCase.trailers))
    }

    @Test(arguments: Feeding.allCases)
    func parsesPipelinedRequestsInOrder(feeding: Feeding) throws {
        let raw =
            "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            + "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
            + "GET /4 HTTP/1.1\r\nHost: a\r\n\r\n"
        let result = feeding.parse(.http(raw))
        #expect(result.error == nil)
        #expect(result.requests.map(\.path) == ["/1", "/2", "/3", "/4"])
        #expect(result.requests.map(\.body) == [[], Array("abc".utf8), Array("x".utf8), []])
    }

    @Test
    func headEventPrecedesContentSoContinueCanBeSent() throws {
        var parser = RequestParser()
        parser.append(
            contentsOf: Array("PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n".utf8))
        guard case .head(let head) = try parser.next() else {
            Issue.record("expected the head before the content")
            return
        }
        #expect(head.expectsContinue)
        #expect(parser.isReadingBody)
        #expect(try parser.next() == nil)
        parser.append(contentsOf: Array("data".utf8))
        guard case .request(let request) = try parser.next() else {
            Issue.record("expected the complete request")
            return
        }
        #expect(request.body == Array("data".utf8))
        #expect(parser.isIdle)
    }

    @Test
    func partialInputWaitsWithoutError() throws {
        var parser = RequestParser()
        parser.append(contentsOf: Array("GET / HTTP/1.1\r\nHo".utf8))
        #expect(try parser.next() == nil)
        #expect(!parser.isIdle)
        #expect(parser.bufferedByteCount == 2, "the request line is consumed; \"Ho\" waits")
    }
}

extension RequestParser.Event: Equatable {
    public static func == (lhs: RequestParser.Event, rhs: RequestParser.Event) -> Bool {
        switch (lhs, rhs) {
        case (.head(let a), .head(let b)): a.target == b.target && a.method == b.method
        case (.request(let a), .request(let b)): a.head.target == b.head.target && a.body == b.body
        default: false
        }
    }
}
