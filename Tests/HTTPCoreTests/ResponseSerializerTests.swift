import HTTPCore
import Testing

struct ResponseSerializerTests {
    @Test
    func serializesWithContentLength() {
        let response = Response(status: .ok, headers: ["Content-Type": "application/json"], body: Array("{}".utf8))
        let text = String(decoding: ResponseSerializer.serialize(response, keepAlive: true), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test
    func closeAddsConnectionField() {
        let text = String(
            decoding: ResponseSerializer.serialize(Response(status: .noContent), keepAlive: false), as: UTF8.self)
        #expect(text == "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    }

    @Test
    func headResponseKeepsLengthWithoutContent() {
        let response = Response(body: Array("hello".utf8))
        let text = String(
            decoding: ResponseSerializer.serialize(response, keepAlive: true, isHeadRequest: true), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    }

    @Test
    func handlerCannotSplitTheResponseOrOverrideFraming() {
        var response = Response(body: Array("x".utf8))
        response.headers.add(name: "X-Evil", value: "a\r\nSet-Cookie: stolen=1")
        response.headers.add(name: "Bad Name", value: "v")
        response.headers.add(name: "Content-Length", value: "999")
        response.headers.add(name: "Transfer-Encoding", value: "chunked")
        let text = String(decoding: ResponseSerializer.serialize(response, keepAlive: true), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nX-Evil: a  Set-Cookie: stolen=1\r\nContent-Length: 1\r\n\r\nx")
    }

    @Test
    func serverFieldsReplaceHandlerFieldsOfTheSameName() {
        var out: [UInt8] = []
        let response = Response(
            headers: Headers([("x-request-id", "chosen-by-handler"), ("X-Other", "1")]), body: Array("b".utf8))
        ResponseSerializer.serialize(
            response, keepAlive: true,
            extraFields: [(name: "X-Request-Id", value: "r-42"), (name: "Date", value: "today")], into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(
            text == "HTTP/1.1 200 OK\r\nX-Other: 1\r\nX-Request-Id: r-42\r\nDate: today\r\nContent-Length: 1\r\n\r\nb")
    }

    @Test
    func chunkedFramingRoundTripsThroughTheParser() throws {
        var head: [UInt8] = []
        ResponseSerializer.head(status: .ok, headers: [:], framing: .chunked, keepAlive: true, into: &head)
        let bytes =
            head + ResponseSerializer.chunk(Array("hello ".utf8)) + ResponseSerializer.chunk([])
            + ResponseSerializer.chunk(Array(repeating: UInt8(ascii: "z"), count: 300))
            + ResponseSerializer.lastChunk(trailers: ["X-Checksum": "abc"])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n12c\r\n"))
        #expect(text.hasSuffix("\r\n0\r\nX-Checksum: abc\r\n\r\n"))
        // The same framing, read back by our own parser as a request body, gives the content.
        let asRequest =
            Array("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            + bytes[head.count...]
        var parser = RequestParser()
        parser.append(contentsOf: asRequest)
        _ = try parser.next()
        guard case .request(let request) = try parser.next() else {
            Issue.record("expected a request")
            return
        }
        #expect(request.body.count == 306)
        #expect(request.trailers["x-checksum"] == "abc")
    }

    @Test
    func problemBodyIsValidJSONWithEscapes() {
        let problem = Problem(
            slug: "x", title: "T", status: 400, detail: "quote \" backslash \\ newline \n tab \t",
            requestId: "r-1", extensions: ["allow": "GET"])
        let text = String(decoding: problem.jsonBytes(), as: UTF8.self)
        #expect(
            text == "{\"type\":\"tag:citygate,2026:problem:x\",\"title\":\"T\",\"status\":400,"
                + "\"detail\":\"quote \\\" backslash \\\\ newline \\n tab \\t\",\"requestId\":\"r-1\",\"allow\":\"GET\"}"
        )
    }
}
