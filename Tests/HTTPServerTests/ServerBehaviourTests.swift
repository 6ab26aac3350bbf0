import Foundation
import HTTPCore
import HTTPServer
import TestSupport
import Testing

/// The server's HTTP/1.1 behaviour over real sockets, byte for byte.
struct ServerBehaviourTests {
    @Test
    func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        var connectionIds: Set<String> = []
        for _ in 0..<5 {
            try client.send("GET /connection HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.statusCode == 200)
            #expect(response.header("Connection") == nil)
            connectionIds.insert(response.text)
        }
        #expect(connectionIds.count == 1)
        await server.stop()
    }

    @Test
    func pipelinedRequestsAreAnsweredInOrder() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send(
            "GET /slow?ms=50 HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst"
                + "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
                + "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n")
        let bodies = try (0..<4).map { _ in try client.readResponse().text }
        #expect(bodies == ["slept 50", "first", "hello", "second"])
        #expect(server.handledPaths == ["/slow", "/echo", "/hello", "/echo"])
        await server.stop()
    }

    @Test
    func everyResponseCarriesAUniqueRequestId() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        var ids: Set<String> = []
        for path in ["/hello", "/missing", "/hello"] {
            try client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            let id = try #require(response.header("X-Request-Id"))
            #expect(!id.isEmpty)
            ids.insert(id)
            if response.statusCode == 404 {
                #expect(response.header("Content-Type") == "application/problem+json")
                let problem = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                #expect(problem?["requestId"] as? String == id)
                #expect(problem?["status"] as? Int == 404)
                #expect(problem?["type"] as? String == "tag:citygate,2026:problem:not-found")
            }
        }
        #expect(ids.count == 3)
        await server.stop()
    }

    @Test
    func incomingRequestIdIsNotTrusted() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("GET /hello HTTP/1.1\r\nHost: a\r\nX-Request-Id: chosen-by-partner\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("X-Request-Id") != "chosen-by-partner")
        await server.stop()
    }

    @Test
    func expectContinueGetsInterimResponseBeforeTheBody() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n")
        let interim = try client.readResponse()
        #expect(interim.statusCode == 100)
        try client.send("payload")
        let final = try client.readResponse()
        #expect(final.statusCode == 200)
        #expect(final.text == "payload")
        await server.stop()
    }

    @Test
    func oversizedBodyWithExpectIsRefusedWithoutContinue() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2000000\r\n\r\n")
        let (bytes, closed) = client.readUntilClose()
        #expect(RawClient.statusCodes(in: bytes) == [413])
        #expect(closed)
        await server.stop()
    }

    @Test
    func connectionCloseIsHonoured() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Connection") == "close")
        #expect(client.isClosedByPeer())
        await server.stop()
    }

    @Test
    func http10ClosesUnlessKeepAliveAsked() async throws {
        let server = try TestServer()
        let plain = try RawClient(port: server.port)
        try plain.send("GET /hello HTTP/1.0\r\n\r\n")
        #expect(try plain.readResponse().statusCode == 200)
        #expect(plain.isClosedByPeer())
        let kept = try RawClient(port: server.port)
        try kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().statusCode == 200)
        try kept.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.readResponse().statusCode == 200)
        await server.stop()
    }

    @Test
    func headRequestGetsLengthButNoContent() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = try client.readResponse(isHead: true)
        #expect(head.header("Content-Length") == "5")
        #expect(head.body.isEmpty)
        let get = try client.readResponse()
        #expect(get.text == "hello", "the next response starts right after the HEAD response's header section")
        await server.stop()
    }

    @Test
    func methodNotAllowedListsAllow() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("DELETE /echo HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.statusCode == 405)
        #expect(response.header("Allow") == "POST, PUT")
        await server.stop()
    }

    @Test
    func handlerErrorBecomesA500ProblemThatRevealsNothing() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("GET /fail HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.statusCode == 500)
        #expect(!response.text.contains("Cancellation"))
        try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.readResponse().statusCode == 200, "the connection survives a handler error")
        await server.stop()
    }

    @Test
    func chunkedUploadWithTrailersReachesTheHandler() async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n")
        try await Task.sleep(for: .milliseconds(20))
        try client.send("3;ext=1\r\nefg\r\n0\r\nX-Digest: sha-256=xyz\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.text == "abcdefg")
        #expect(response.header("X-Trailer-Digest") == "sha-256=xyz")
        await server.stop()
    }

    @Test(arguments: [
        ("request line at limit", 8192, 404), ("request line past limit", 8193, 414),
    ])
    func requestLineLimitOverTheWire(name: String, length: Int, status: Int) async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        let fixed = "GET / HTTP/1.1".utf8.count
        try client.send("GET /" + String(repeating: "a", count: length - fixed) + " HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.readResponse().statusCode == status)
        await server.stop()
    }

    @Test(arguments: [(100, 200), (101, 431)])
    func fieldCountLimitOverTheWire(fields: Int, status: Int) async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        let extra = (1..<fields).map { "X-F\($0): v\r\n" }.joined()
        try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\(extra)\r\n")
        #expect(try client.readResponse().statusCode == status)
        await server.stop()
    }

    @Test(arguments: [(1_048_576, 200), (1_048_577, 413)])
    func bodyLimitOverTheWire(size: Int, status: Int) async throws {
        let server = try TestServer()
        let client = try RawClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n")
        if status == 200 { try client.send([UInt8](repeating: 0x61, count: size)) }
        let response = try client.readResponse()
        #expect(response.statusCode == status)
        if status == 200 { #expect(response.header("X-Body-Length") == "\(size)") }
        await server.stop()
    }

    @Test
    func headerSectionLimitOverTheWire() async throws {
        let server = try TestServer()
        let atLimit = try RawClient(port: server.port)
        // "Host: a\r\n" (9) + "X: <v>\r\n" + "\r\n" (2) == 32768
        let filler = 32768 - 9 - 2 - 5
        try atLimit.send("GET /hello HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: filler) + "\r\n\r\n")
        #expect(try atLimit.readResponse().statusCode == 200)
        let past = try RawClient(port: server.port)
        try past.send("GET /hello HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "v", count: filler + 1) + "\r\n\r\n")
        #expect(try past.readResponse().statusCode == 431)
        await server.stop()
    }
}
