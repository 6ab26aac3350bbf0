import Foundation
import TestSupport
import Testing

/// Clients nobody here wrote — the curl CLI and Python's http.client — against the real server.
struct RealClientTests {
    static let python = ExternalProcess.which("python3") ?? "/usr/bin/python3"
    static let curl = ExternalProcess.which("curl") ?? "/usr/bin/curl"
    static let script = ExternalProcess.packageRoot.appendingPathComponent(
        "Tests/HTTPServerTests/Clients/http_client_check.py"
    ).path

    func python(_ scenario: String, port: UInt16) async throws -> [String: Any] {
        let result = try await ExternalProcess.run(Self.python, [Self.script, "\(port)", scenario])
        #expect(result.status == 0, "\(result.standardError)")
        return try #require(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
    }

    @Test
    func pythonKeepAliveReusesOneConnection() async throws {
        let server = try TestServer()
        let result = try await python("keep-alive", port: server.port)
        let ids = try #require(result["connectionIds"] as? [String])
        #expect(ids.count == 3)
        #expect(Set(ids).count == 1)
        await server.stop()
    }

    @Test
    func pythonChunkedUpload() async throws {
        let server = try TestServer()
        let result = try await python("chunked-upload", port: server.port)
        #expect(result["status"] as? Int == 200)
        #expect(result["body"] as? String == "partner-event-body")
        #expect(result["bodyLength"] as? String == "18")
        await server.stop()
    }

    @Test
    func pythonPipelining() async throws {
        let server = try TestServer()
        let result = try await python("pipelining", port: server.port)
        #expect(result["responses"] as? Int == 4)
        #expect(result["bodies"] as? Int == 4)
        await server.stop()
    }

    @Test
    func pythonTwoHundredConcurrentConnections() async throws {
        let server = try TestServer()
        let result = try await python("concurrent", port: server.port)
        #expect(result["ok"] as? Int == 200)
        await server.stop()
    }

    @Test
    func pythonSeesProblemDetails() async throws {
        let server = try TestServer()
        let result = try await python("problem", port: server.port)
        #expect(result["status"] as? Int == 404)
        #expect(result["contentType"] as? String == "application/problem+json")
        #expect(result["requestIdMatches"] as? Bool == true)
        await server.stop()
    }

    @Test
    func curlReusesTheConnectionAcrossRequests() async throws {
        let server = try TestServer()
        let url = "http://127.0.0.1:\(server.port)/hello"
        let result = try await ExternalProcess.run(
            Self.curl,
            [
                "-s", "-w", "%{http_code} %{num_connects}\n", "-o", "/dev/null", url, "-o", "/dev/null", url, "-o",
                "/dev/null", url,
            ])
        #expect(result.standardOutput.split(separator: "\n") == ["200 1", "200 0", "200 0"])
        await server.stop()
    }

    @Test
    func curlChunkedUploadWithExpectContinue() async throws {
        let server = try TestServer()
        let payload = Data(repeating: 0x7A, count: 200_000)
        let result = try await ExternalProcess.run(
            Self.curl,
            [
                "-sv", "-X", "POST", "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue",
                "--data-binary", "@-", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:\(server.port)/echo",
            ],
            input: payload)
        #expect(result.standardOutput == "200")
        #expect(result.standardError.contains("HTTP/1.1 100 Continue"))
        #expect(result.standardError.contains("X-Body-Length: 200000"))
        await server.stop()
    }

    @Test
    func curlTwoHundredParallelTransfers() async throws {
        let server = try TestServer()
        let urls = (0..<200).map { _ in "http://127.0.0.1:\(server.port)/hello" }
        let config = urls.map { "url = \"\($0)\"\noutput = \"/dev/null\"\n" }.joined()
        let result = try await ExternalProcess.run(
            Self.curl, ["-s", "--parallel", "--parallel-max", "200", "-w", "%{http_code}\n", "-K", "-"],
            input: Data(config.utf8))
        let codes = result.standardOutput.split(separator: "\n")
        #expect(codes.count == 200)
        #expect(codes.allSatisfy { $0 == "200" })
        await server.stop()
    }
}
