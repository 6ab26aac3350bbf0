import TestSupport
import Testing

/// At least forty hostile inputs sent over a real socket. Each must get exactly its status, the
/// connection must be closed, and the smuggled request (always for `/smuggled`) must never reach a
/// handler.
struct SmugglingTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let raw: String
        let status: Int
        var description: String { name }
    }

    static let smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"

    static let cases: [Case] = [
        // CL.TE and TE.CL: both framings present, in either order.
        Case(
            name: "CL.TE",
            raw:
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE.CL",
            raw:
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\n\(smuggled)\r\n0\r\n\r\n",
            status: 400),
        Case(
            name: "CL.TE with zero CL",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n\(smuggled)",
            status: 400),
        // TE.TE obfuscations.
        Case(
            name: "TE xchunked",
            raw:
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE chunked twice same field",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE chunked in two fields",
            raw:
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE identity then chunked",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 501),
        Case(
            name: "TE chunked then identity",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE space before colon",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE tab before colon",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE obs-fold",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE vertical tab",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \u{0b}chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE form feed",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\u{0c}\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE quoted",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE leading comma",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE bare CR",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\rX: y\r\n\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "TE in HTTP/1.0",
            raw: "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\(smuggled)", status: 400),
        Case(
            name: "TE gzip only", raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n\(smuggled)",
            status: 400),
        // Content-Length variants.
        Case(
            name: "duplicate CL equal",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd\(smuggled)",
            status: 400),
        Case(
            name: "duplicate CL differing",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd\(smuggled)",
            status: 400),
        Case(
            name: "CL comma list",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 40\r\n\r\nabcd\(smuggled)", status: 400),
        Case(
            name: "negative CL", raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -4\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "plus-signed CL", raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd\(smuggled)",
            status: 400),
        Case(
            name: "hex CL", raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0x4\r\n\r\nabcd\(smuggled)",
            status: 400),
        Case(
            name: "huge CL",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 184467440737095516160\r\n\r\n\(smuggled)",
            status: 413),
        Case(
            name: "CL past the body limit",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n\(smuggled)", status: 413),
        Case(
            name: "CL with space inside",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4 0\r\n\r\n\(smuggled)", status: 400),
        Case(
            name: "CL space before colon",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length : 4\r\n\r\nabcd\(smuggled)", status: 400),
        // Chunk framing.
        Case(
            name: "chunk size not hex",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\ng\r\n\(smuggled)", status: 400),
        Case(
            name: "chunk size overflow",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n\(smuggled)",
            status: 400),
        Case(
            name: "chunk size past limit",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n\(smuggled)",
            status: 413),
        Case(
            name: "chunk size with 0x",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "chunk size negative",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "bare LF after chunk size",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "bare LF after chunk data",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "bare LF after last chunk",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\n\n\(smuggled)", status: 400),
        Case(
            name: "bare LF ending trailers",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n\(smuggled)", status: 400),
        Case(
            name: "chunk longer than its size",
            raw:
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "chunk extension with bare CR",
            raw:
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\ry\r\nabc\r\n0\r\n\r\n\(smuggled)",
            status: 400),
        // Header injection and line-ending tricks.
        Case(
            name: "bare LF in head", raw: "POST /echo HTTP/1.1\nHost: a\nContent-Length: 4\n\nabcd\(smuggled)",
            status: 400),
        Case(
            name: "bare CR splitting a field",
            raw: "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: 1\rContent-Length: 40\r\n\r\n\(smuggled)", status: 400),
        Case(
            name: "NUL in field value", raw: "GET /hello HTTP/1.1\r\nHost: a\r\nX-A: a\u{0}\r\n\r\n\(smuggled)",
            status: 400),
        Case(
            name: "obs-fold hiding CL",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n Content-Length: 40\r\n\r\n\(smuggled)", status: 400),
        Case(
            name: "space in request target", raw: "GET /hello HTTP/1.1 /smuggled\r\nHost: a\r\n\r\n\(smuggled)",
            status: 400),
        Case(name: "missing Host", raw: "GET /hello HTTP/1.1\r\n\r\n\(smuggled)", status: 400),
        Case(name: "double Host", raw: "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n\(smuggled)", status: 400),
        Case(name: "HTTP/2 preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\(smuggled)", status: 505),
        Case(name: "HTTP/3.0 request", raw: "GET /hello HTTP/3.0\r\nHost: a\r\n\r\n\(smuggled)", status: 505),
        Case(
            name: "unknown expectation",
            raw: "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 101-switch\r\nContent-Length: 4\r\n\r\nabcd\(smuggled)",
            status: 417),
    ]

    @Test(arguments: cases)
    func rejectsAndClosesWithoutReachingAHandler(_ testCase: Case) async throws {
        let server = try TestServer()
        try Self.check(testCase, on: server, client: RawClient(port: server.port))
        await server.stop()
    }

    /// The same inputs over TLS: decryption must not change what the parser sees or decides.
    @Test(arguments: cases)
    func rejectsAndClosesOverTLS(_ testCase: Case) async throws {
        let pki = try await SharedPKI.value
        let tls = try TLSListenerTests.credentials(pki)
        let server = try TestServer { $0.tls = tls }
        try Self.check(
            testCase, on: server, client: RawClient(port: server.port, tls: .init(caFile: pki.path("ca.pem"))))
        await server.stop()
    }

    static func check(_ testCase: Case, on server: TestServer, client: RawClient) throws {
        try client.send(testCase.raw)
        let (bytes, closed) = client.readUntilClose()
        let statuses = RawClient.statusCodes(in: bytes)
        #expect(statuses == [testCase.status], "exactly one response, with the expected status")
        #expect(closed, "the connection must be closed after a framing error")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("Content-Type: application/problem+json"))
        #expect(text.contains("X-Request-Id: "))
        #expect(text.contains("Connection: close"))
        #expect(!server.handledPaths.contains("/smuggled"))
        #expect(server.handledPaths.isEmpty, "a rejected request reaches no handler")
    }

    @Test
    func suiteHasAtLeastFortyInputs() {
        #expect(Self.cases.count >= 40)
    }
}
