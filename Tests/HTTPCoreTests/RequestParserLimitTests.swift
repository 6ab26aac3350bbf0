import HTTPCore
import Testing

/// Each limit at the limit (accepted) and one past it (refused with its status).
struct RequestParserLimitTests {
    static let small = RequestParser.Configuration(
        maxRequestLineLength: 64, maxHeaderSectionBytes: 128, maxHeaderFields: 4, maxBodyBytes: 32,
        maxChunkLineLength: 16)

    /// A request line of exactly `length` bytes.
    static func requestLine(length: Int) -> String {
        let fixed = "GET / HTTP/1.1".utf8.count
        return "GET /" + String(repeating: "a", count: length - fixed) + " HTTP/1.1"
    }

    @Test(arguments: Feeding.allCases)
    func requestLineAtLimitIsAccepted(feeding: Feeding) {
        let result = feeding.parse(
            .http(Self.requestLine(length: 64) + "\r\nHost: a\r\n\r\n"), configuration: Self.small)
        #expect(result.error == nil)
        #expect(result.requests.count == 1)
    }

    @Test(arguments: Feeding.allCases)
    func requestLineOnePastLimitIs414(feeding: Feeding) {
        let result = feeding.parse(
            .http(Self.requestLine(length: 65) + "\r\nHost: a\r\n\r\n"), configuration: Self.small)
        #expect(result.error?.kind == .requestLineTooLong)
        #expect(result.error?.status.code == 414)
    }

    @Test
    func requestLineTooLongIsDetectedBeforeItsEnd() {
        var parser = RequestParser(configuration: Self.small)
        parser.append(contentsOf: Array(("GET /" + String(repeating: "a", count: 100)).utf8))
        #expect(throws: HTTPParseError(.requestLineTooLong)) { try parser.next() }
    }

    /// A header section of exactly `bytes` bytes (fields plus the final CRLF).
    static func headerSection(bytes: Int) -> String {
        let host = "Host: a\r\n"
        let fieldOverhead = "X: \r\n".utf8.count
        let filler = bytes - host.utf8.count - 2 - fieldOverhead
        return host + "X: " + String(repeating: "v", count: filler) + "\r\n\r\n"
    }

    @Test(arguments: Feeding.allCases)
    func headerSectionAtLimitIsAccepted(feeding: Feeding) {
        let result = feeding.parse(
            .http("GET / HTTP/1.1\r\n" + Self.headerSection(bytes: 128)), configuration: Self.small)
        #expect(result.error == nil)
        #expect(result.requests.count == 1)
    }

    @Test(arguments: Feeding.allCases)
    func headerSectionOnePastLimitIs431(feeding: Feeding) {
        let result = feeding.parse(
            .http("GET / HTTP/1.1\r\n" + Self.headerSection(bytes: 129)), configuration: Self.small)
        #expect(result.error?.kind == .headerSectionTooLarge)
        #expect(result.error?.status.code == 431)
    }

    @Test
    func endlessHeaderLineIsCutOffWithoutItsEnd() {
        var parser = RequestParser(configuration: Self.small)
        parser.append(contentsOf: Array(("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 200)).utf8))
        #expect(throws: HTTPParseError(.headerSectionTooLarge)) { try parser.next() }
    }

    static func fields(_ count: Int) -> String {
        "Host: a\r\n" + (1..<count).map { "F\($0): v\r\n" }.joined() + "\r\n"
    }

    @Test(arguments: Feeding.allCases)
    func fieldCountAtLimitIsAccepted(feeding: Feeding) {
        let result = feeding.parse(.http("GET / HTTP/1.1\r\n" + Self.fields(4)), configuration: Self.small)
        #expect(result.error == nil)
    }

    @Test(arguments: Feeding.allCases)
    func fieldCountOnePastLimitIs431(feeding: Feeding) {
        let result = feeding.parse(.http("GET / HTTP/1.1\r\n" + Self.fields(5)), configuration: Self.small)
        #expect(result.error?.kind == .tooManyFields)
        #expect(result.error?.status.code == 431)
    }

    @Test(arguments: Feeding.allCases)
    func contentLengthAtLimitIsAccepted(feeding: Feeding) {
        let body = String(repeating: "b", count: 32)
        let result = feeding.parse(
            .http("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 32\r\n\r\n" + body), configuration: Self.small)
        #expect(result.error == nil)
        #expect(result.requests.first?.body.count == 32)
    }

    @Test(arguments: Feeding.allCases)
    func contentLengthOnePastLimitIs413BeforeTheBody(feeding: Feeding) {
        let result = feeding.parse(
            .http("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 33\r\n\r\n"), configuration: Self.small)
        #expect(result.error?.kind == .contentTooLarge)
        #expect(result.error?.status.code == 413)
        #expect(result.heads.isEmpty, "a 413 is decided before any content is accepted")
    }

    @Test(arguments: Feeding.allCases)
    func chunkedBodyAtLimitIsAccepted(feeding: Feeding) {
        let sixteen = String(repeating: "c", count: 16)
        let raw =
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n\(sixteen)\r\n10\r\n\(sixteen)\r\n0\r\n\r\n"
        let result = feeding.parse(.http(raw), configuration: Self.small)
        #expect(result.error == nil)
        #expect(result.requests.first?.body.count == 32)
    }

    @Test(arguments: Feeding.allCases)
    func chunkedBodyOnePastLimitIs413(feeding: Feeding) {
        let sixteen = String(repeating: "c", count: 16)
        let raw =
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n\(sixteen)\r\n11\r\n\(sixteen)c\r\n0\r\n\r\n"
        let result = feeding.parse(.http(raw), configuration: Self.small)
        #expect(result.error?.kind == .contentTooLarge)
    }

    @Test(arguments: Feeding.allCases)
    func chunkLineAtLimitIsAcceptedAndOnePastIsRefused(feeding: Feeding) {
        let atLimit = "1;" + String(repeating: "e", count: 14)
        let ok = feeding.parse(
            .http("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(atLimit)\r\nx\r\n0\r\n\r\n"),
            configuration: Self.small)
        #expect(ok.error == nil)
        let refused = feeding.parse(
            .http("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(atLimit)e\r\nx\r\n0\r\n\r\n"),
            configuration: Self.small)
        #expect(refused.error?.kind == .chunkLineTooLong)
    }

    /// Found by the fuzzer: the verdict on an over-long line must not depend on where reads split it.
    @Test(arguments: Feeding.allCases)
    func overLongChunkLineEndingInBareLineFeedIsTooLongHoweverItArrives(feeding: Feeding) {
        let raw =
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;" + String(repeating: "x", count: 40)
            + "\n"
        let result = feeding.parse(.http(raw), configuration: Self.small)
        #expect(result.error?.kind == .chunkLineTooLong)
    }

    @Test
    func defaultsAreTheDocumentedValues() {
        let defaults = RequestParser.Configuration()
        #expect(defaults.maxRequestLineLength == 8192)
        #expect(defaults.maxHeaderSectionBytes == 32768)
        #expect(defaults.maxHeaderFields == 100)
        #expect(defaults.maxBodyBytes == 1_048_576)
    }
}
