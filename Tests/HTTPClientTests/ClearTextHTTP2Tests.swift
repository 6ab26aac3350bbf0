import Foundation
import HTTPClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/2 in cleartext with prior knowledge (h2c), against nginx speaking only that.
@Suite
struct ClearTextHTTP2Tests {
    /// libcurl 7.88 (Debian bookworm's) fails every request after the first on a reused h2c
    /// connection (curl/curl#10634); the client must still answer every one of them.
    @Test
    func everyRequestToAnH2CBackendIsAnswered() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("h2c-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = try RawClient.unusedPort()
        let nginx = try NginxServer(
            directory: directory.path,
            server: """
                server {
                    listen 127.0.0.1:\(port) http2;
                    location / { default_type text/plain; return 200 "h2c backend"; }
                }
                """)
        defer { nginx.stop() }
        #expect(await eventually(timeout: .seconds(5)) { (try? RawClient(port: port)) != nil })

        let client = try HTTPClient(configuration: .init(version: .http2PriorKnowledge))
        defer { client.shutdown() }
        let url = "http://127.0.0.1:\(port)/"
        for _ in 0..<3 {
            let response = try await client.execute(ClientRequest(url: url), deadline: .now + .seconds(5))
            #expect(response.status == 200)
            #expect(response.httpVersion == "2")
            #expect(String(decoding: response.body, as: UTF8.self) == "h2c backend")
        }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    try await client.execute(ClientRequest(url: url), deadline: .now + .seconds(5)).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 16))
    }
}
