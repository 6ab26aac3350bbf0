import Foundation
import HTTPServer
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The slow-client defences re-run over TLS: a trickled header, a stalled body, a client that
/// stops reading, and the per-address connection limit. The deadlines are the same ones; what
/// changes is that the bytes pass through OpenSSL on the loop.
@Suite(.serialized)
struct TLSSlowClientTests {
    static func server(_ configure: (inout HTTPServer.Configuration) -> Void) async throws -> (TestServer, TestPKI) {
        let pki = try await SharedPKI.value
        let tls = try TLSListenerTests.credentials(pki)
        let server = try TestServer { configuration in
            configuration.tls = tls
            configure(&configuration)
        }
        return (server, pki)
    }

    @Test
    func trickledHeaderIsAnswered408AndClosed() async throws {
        let (server, pki) = try await Self.server { $0.headerReadTimeout = .milliseconds(500) }
        let slow = try RawClient(port: server.port, tls: .init(caFile: pki.path("ca.pem")))
        let outcome = try await blocking { () -> (statuses: [Int], closed: Bool, seconds: Double) in
            let start = Date()
            try slow.send("GET /hello HTTP/1.1\r\n")
            for byte in Array("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8) {
                if (try? slow.send([byte])) == nil || Date().timeIntervalSince(start) > 3 { break }
                usleep(50_000)
            }
            let (bytes, closed) = slow.readUntilClose()
            return (RawClient.statusCodes(in: bytes), closed, Date().timeIntervalSince(start))
        }
        #expect(outcome.closed)
        #expect(outcome.statuses == [408], "the answer is readable over TLS")
        #expect(outcome.seconds < 2.5)
        await server.stop()
    }

    @Test
    func stalledBodyIsAnswered408AndClosed() async throws {
        let (server, pki) = try await Self.server { $0.bodyReadTimeout = .milliseconds(400) }
        let client = try RawClient(port: server.port, tls: .init(caFile: pki.path("ca.pem")))
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-part")
        let start = ContinuousClock.now
        let (bytes, closed) = client.readUntilClose()
        #expect(closed)
        #expect(RawClient.statusCodes(in: bytes) == [408])
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(server.handledPaths.isEmpty)
        await server.stop()
    }

    @Test
    func clientThatStopsReadingIsCutOff() async throws {
        let (server, pki) = try await Self.server { $0.writeTimeout = .milliseconds(500) }
        let reader = try RawClient(port: server.port, tls: .init(caFile: pki.path("ca.pem")))
        var small: Int32 = 4096
        setsockopt(reader.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try reader.send("GET /big?n=33554432 HTTP/1.1\r\nHost: a\r\n\r\n")
        let other = try RawClient(port: server.port, tls: .init(caFile: pki.path("ca.pem")))
        try other.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await blocking { try other.readResponse().statusCode } == 200)
        #expect(
            await eventually(timeout: .seconds(5)) { server.server.openConnectionCount == 1 },
            "the stalled reader is closed")
        try other.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await blocking { try other.readResponse().statusCode } == 200)
        await server.stop()
    }

    @Test
    func connectionsOverThePerAddressLimitAreClosedWithoutAHandshake() async throws {
        let (server, pki) = try await Self.server { $0.maxConnectionsPerAddress = 2 }
        let held = try (0..<2).map { _ in try RawClient(port: server.port, tls: .init(caFile: pki.path("ca.pem"))) }
        #expect(throws: RawClient.Failure.self, "the third is closed before its handshake") {
            _ = try RawClient(port: server.port, receiveTimeout: 2, tls: .init(caFile: pki.path("ca.pem")))
        }
        for client in held {
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().statusCode == 200)
        }
        await server.stop()
    }
}
