import HTTPCore
import Testing

/// Every malformed request this parser must refuse, with the exact reason and status.
struct RequestParserMalformedTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let raw: String
        let kind: HTTPParseError.Kind
        var description: String { name }
    }

    static let cases: [Case] = [
        // Request line (RFC 9112 §3)
        Case(name: "lower-case version", raw: "GET / http/1.1\r\nHost: a\r\n\r\n", kind: .invalidVersion),
        Case(name: "version without minor", raw: "GET / HTTP/1\r\nHost: a\r\n\r\n", kind: .invalidVersion),
        Case(name: "two-digit major", raw: "GET / HTTP/11.1\r\nHost: a\r\n\r\n", kind: .invalidVersion),
        Case(name: "HTTP/2.0", raw: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", kind: .unsupportedVersion),
        Case(name: "HTTP/0.9", raw: "GET / HTTP/0.9\r\nHost: a\r\n\r\n", kind: .unsupportedVersion),
        Case(name: "missing version", raw: "GET /\r\nHost: a\r\n\r\n", kind: .invalidRequestLine),
        Case(name: "double space", raw: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestLine),
        Case(name: "trailing space", raw: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", kind: .invalidRequestLine),
        Case(name: "tab separator", raw: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidMethod),
        Case(name: "method with slash", raw: "GE/T / HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidMethod),
        Case(name: "empty method", raw: " / HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestLine),
        Case(name: "target with space", raw: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestLine),
        Case(name: "target with NUL", raw: "GET /a\u{0}b HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestTarget),
        Case(name: "target with DEL", raw: "GET /a\u{7f} HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestTarget),
        Case(name: "target with fragment", raw: "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestTarget),
        Case(
            name: "target with non-ASCII", raw: "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n",
            kind: .invalidRequestTarget),
        Case(name: "relative target", raw: "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestTarget),
        Case(name: "asterisk for GET", raw: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", kind: .invalidRequestTarget),
        Case(
            name: "absolute-form with userinfo", raw: "GET http://u@h/ HTTP/1.1\r\nHost: a\r\n\r\n",
            kind: .invalidRequestTarget),
        Case(
            name: "absolute-form empty authority", raw: "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
            kind: .invalidRequestTarget),
        Case(name: "bare CR in request line", raw: "GET /\rX HTTP/1.1\r\nHost: a\r\n\r\n", kind: .bareCarriageReturn),
        Case(name: "bare LF after request line", raw: "GET / HTTP/1.1\nHost: a\r\n\r\n", kind: .bareLineFeed),
        Case(
            name: "too many leading empty lines", raw: "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
            kind: .invalidRequestLine),
        // Field lines (RFC 9112 §5)
        Case(
            name: "obs-fold with space", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n",
            kind: .obsoleteLineFolding),
        Case(
            name: "obs-fold with tab", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n",
            kind: .obsoleteLineFolding),
        Case(name: "space before colon", raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", kind: .whitespaceBeforeColon),
        Case(
            name: "tab before colon", raw: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 0\r\n\r\n",
            kind: .whitespaceBeforeColon),
        Case(name: "space inside name", raw: "GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n", kind: .invalidFieldName),
        Case(name: "empty name", raw: "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", kind: .invalidFieldName),
        Case(name: "line without colon", raw: "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", kind: .invalidFieldName),
        Case(name: "non-token in name", raw: "GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n", kind: .invalidFieldName),
        Case(name: "NUL in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u{0}2\r\n\r\n", kind: .invalidFieldValue),
        Case(
            name: "control in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: \u{1b}[31m\r\n\r\n",
            kind: .invalidFieldValue),
        Case(name: "DEL in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u{7f}\r\n\r\n", kind: .invalidFieldValue),
        Case(
            name: "bare CR in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\rX-B: 2\r\n\r\n",
            kind: .bareCarriageReturn),
        Case(name: "bare CR in name", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-A\r: 1\r\n\r\n", kind: .bareCarriageReturn),
        Case(name: "bare LF in fields", raw: "GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n", kind: .bareLineFeed),
        Case(name: "bare LF ends head", raw: "GET / HTTP/1.1\r\nHost: a\r\n\n", kind: .bareLineFeed),
        // Host (RFC 9112 §3.2)
        Case(name: "missing Host in 1.1", raw: "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", kind: .missingHost),
        Case(name: "repeated Host", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", kind: .repeatedHost),
        Case(name: "repeated Host in 1.0", raw: "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", kind: .repeatedHost),
        Case(name: "Host with space", raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", kind: .invalidHost),
        Case(name: "Host with slash", raw: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", kind: .invalidHost),
        Case(name: "Host with userinfo", raw: "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", kind: .invalidHost),
        // Framing (RFC 9112 §6)
        Case(
            name: "CL with TE",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            kind: .contentLengthWithTransferEncoding),
        Case(
            name: "TE with CL",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
            kind: .contentLengthWithTransferEncoding),
        Case(
            name: "duplicate equal CL",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            kind: .repeatedContentLength),
        Case(
            name: "conflicting CL",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            kind: .repeatedContentLength),
        Case(
            name: "CL list", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
            kind: .invalidContentLength),
        Case(
            name: "negative CL", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            kind: .invalidContentLength),
        Case(
            name: "plus CL", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc",
            kind: .invalidContentLength),
        Case(
            name: "hex CL", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
            kind: .invalidContentLength),
        Case(
            name: "CL with inner space", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\n",
            kind: .invalidContentLength),
        Case(
            name: "empty CL", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", kind: .invalidContentLength),
        Case(
            name: "decimal CL", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1.5\r\n\r\n",
            kind: .invalidContentLength),
        Case(
            name: "huge CL", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            kind: .contentTooLarge),
        Case(
            name: "TE gzip only", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE chunked then gzip", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE gzip then chunked",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            kind: .unsupportedTransferCoding),
        Case(
            name: "TE chunked twice",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE in two fields",
            raw:
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE xchunked", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE chunked-false", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked-false\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE empty element",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE quoted", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE vertical tab", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \u{0b}chunked\r\n\r\n",
            kind: .invalidFieldValue),
        Case(
            name: "TE chunked with a parameter",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE chunked with an empty parameter",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked ;\r\n\r\n0\r\n\r\n",
            kind: .invalidTransferEncoding),
        Case(
            name: "TE in HTTP/1.0", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            kind: .transferEncodingInHTTP10),
        // Chunked coding (RFC 9112 §7.1)
        Case(name: "chunk size not hex", raw: chunked("zz\r\nab\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "chunk size empty", raw: chunked("\r\nab\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "chunk size negative", raw: chunked("-1\r\na\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "chunk size 0x prefix", raw: chunked("0x2\r\nab\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "chunk size with trailing junk", raw: chunked("2 x\r\nab\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "chunk size then a space", raw: chunked("2 \r\nab\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "chunk size then a tab", raw: chunked("2\t\r\nab\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "last chunk then a space", raw: chunked("2\r\nab\r\n0 \r\n\r\n"), kind: .invalidChunkSize),
        Case(
            name: "chunk size overflow", raw: chunked("1ffffffffffffffff\r\na\r\n0\r\n\r\n"), kind: .chunkSizeOverflow),
        Case(name: "chunk size past body limit", raw: chunked("fffffffffff\r\na\r\n0\r\n\r\n"), kind: .contentTooLarge),
        Case(name: "chunk data without CRLF", raw: chunked("2\r\nabc\r\n0\r\n\r\n"), kind: .invalidChunkTerminator),
        Case(name: "chunk data with bare LF", raw: chunked("2\r\nab\n0\r\n\r\n"), kind: .bareLineFeed),
        Case(name: "chunk data with bare CR", raw: chunked("2\r\nab\rX0\r\n\r\n"), kind: .bareCarriageReturn),
        Case(name: "chunk size line with bare LF", raw: chunked("2\nab\r\n0\r\n\r\n"), kind: .bareLineFeed),
        Case(name: "last chunk with bare LF", raw: chunked("2\r\nab\r\n0\n\r\n"), kind: .bareLineFeed),
        Case(
            name: "chunk extension with control", raw: chunked("2;a=\u{1}\r\nab\r\n0\r\n\r\n"), kind: .invalidChunkSize),
        Case(name: "trailer obs-fold", raw: chunked("0\r\nX-T: 1\r\n 2\r\n\r\n"), kind: .obsoleteLineFolding),
        Case(name: "trailer bare LF", raw: chunked("0\r\nX-T: 1\n\r\n"), kind: .bareLineFeed),
        // Expectations (RFC 9110 §10.1.1)
        Case(
            name: "unknown expectation",
            raw: "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx",
            kind: .unsupportedExpectation),
    ]

    static func chunked(_ body: String) -> String {
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    }

    @Test(arguments: cases, Feeding.allCases)
    func rejectsMalformedRequest(_ testCase: Case, feeding: Feeding) {
        let result = feeding.parse(.http(testCase.raw))
        #expect(result.error?.kind == testCase.kind)
        #expect(result.requests.isEmpty, "no request may come out of malformed input")
    }

    @Test(arguments: cases)
    func errorIsFinal(_ testCase: Case) {
        var parser = RequestParser()
        parser.append(contentsOf: Array(testCase.raw.utf8))
        var first: HTTPParseError?
        do {
            while try parser.next() != nil {}
        } catch {
            first = error
        }
        parser.append(contentsOf: Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(first?.kind == testCase.kind)
    }

    @Test(arguments: [
        (HTTPParseError.Kind.requestLineTooLong, 414), (.headerSectionTooLarge, 431), (.tooManyFields, 431),
        (.contentTooLarge, 413), (.unsupportedVersion, 505), (.unsupportedTransferCoding, 501),
        (.unsupportedExpectation, 417), (.bareLineFeed, 400), (.contentLengthWithTransferEncoding, 400),
    ])
    func mapsEachKindToItsStatus(kind: HTTPParseError.Kind, status: Int) {
        #expect(HTTPParseError(kind).status.code == status)
    }

    @Test
    func everyKindHasADetailThatEchoesNoInput() {
        for kind in HTTPParseError.Kind.allCases {
            let detail = HTTPParseError(kind).detail
            #expect(!detail.isEmpty)
            #expect(detail.hasSuffix("."))
        }
    }
}
