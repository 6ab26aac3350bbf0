import Foundation
import HTTPCore
import HTTPServer
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Connection exhaustion: a body trickled forever, one address holding every connection, and
/// the cap itself. Other loopback addresses (127.0.0.2, …) stand in for other client machines.
@Suite(.serialized)
struct ConnectionLimitTests {
    /// Opens `count` connections from `source`, each sending a request head and one body byte
    /// of a 100-byte body: requests that never finish. Connections the server refused at once
    /// are counted too.
    static func slowRequests(_ count: Int, port: UInt16, source: String, receiveTimeout: Double = 2) -> [RawClient] {
        var clients: [RawClient] = []
        for _ in 0..<count {
            guard let client = try? RawClient(port: port, receiveTimeout: receiveTimeout, source: source) else {
                continue
            }
            try? client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nx")
            clients.append(client)
        }
        return clients
    }

    /// One byte every 150 ms never pauses long enough for the between-reads timeout: only the
    /// whole-body deadline ends it, with a 408.
    @Test
    func aTricklingBodyIsCutAtTheWholeBodyDeadlineWith408() async throws {
        let server = try TestServer(configure: {
            $0.bodyReadTimeout = .milliseconds(600)
            $0.bodyTimeout = .seconds(1)
        })
        let client = try RawClient(port: server.port)
        let outcome = try await blocking { () -> (statuses: [Int], text: String, closed: Bool, seconds: Double) in
            let start = Date()
            try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
            for _ in 0..<30 {
                if (try? client.send("y")) == nil || Date().timeIntervalSince(start) > 4 { break }
                usleep(150_000)
            }
            let (bytes, closed) = client.readUntilClose()
            return (
                RawClient.statusCodes(in: bytes), String(decoding: bytes, as: UTF8.self), closed,
                Date().timeIntervalSince(start)
            )
        }
        #expect(outcome.statuses == [408], "\(outcome.text)")
        #expect(outcome.text.contains("body-timeout"))
        #expect(outcome.closed)
        #expect(outcome.seconds < 2.5, "cut near the 1 s body deadline, not after the whole trickle")
        #expect(server.handledPaths.isEmpty)
        await server.stop()
    }

    /// One address opens five times its allowance of slow requests; a second address is served
    /// at once, and the first address's extra connections are told why they were refused.
    @Test
    func oneAddressCannotTakeTheServer() async throws {
        let server = try TestServer(configure: {
            $0.maxConnections = 200
            $0.maxConnectionsPerAddress = 20
        })
        let attack = Self.slowRequests(100, port: server.port, source: "127.0.0.1")
        #expect(attack.count >= 20)
        #expect(await eventually { server.server.openConnectionCount == 20 }, "only the allowance is held")
        let other = try RawClient(port: server.port, source: "127.0.0.2")
        try other.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try other.readResponse().statusCode == 200)
        let refused = try RawClient(port: server.port, source: "127.0.0.1")
        let response = try refused.readResponse()
        #expect(response.statusCode == 503)
        #expect(response.text.contains("too-many-connections"))
        #expect(response.header("Retry-After") == "1")
        await server.stop(gracePeriod: .milliseconds(100))
    }

    /// At the global cap, a newcomer is served by shedding the slowest unfinished requests
    /// (told with a 408 `connection-shed`), not refused.
    @Test
    func atTheCapTheSlowestAreShedForANewcomer() async throws {
        let server = try TestServer(
            configure: {
                $0.maxConnections = 40
                $0.maxConnectionsPerAddress = 10
            }, threads: 1)
        var holders: [RawClient] = []
        for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
            holders += Self.slowRequests(10, port: server.port, source: source, receiveTimeout: 0.05)
        }
        #expect(await eventually { server.server.openConnectionCount == 40 })
        let newcomer = try RawClient(port: server.port, source: "127.0.0.6")
        try newcomer.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try newcomer.readResponse().statusCode == 200)
        // One of the oldest requests was shed, told why; the rest still wait.
        let shed = holders.map { $0.readUntilClose() }.filter(\.closed)
        #expect(shed.count == 1, "\(shed.count) shed")
        #expect(shed.allSatisfy { String(decoding: $0.bytes, as: UTF8.self).contains("connection-shed") })
        await server.stop(gracePeriod: .milliseconds(100))
    }

    /// A request being handled is never shed, however long it takes.
    @Test
    func requestsBeingHandledAreNeverShed() async throws {
        let server = try TestServer(
            configure: {
                $0.maxConnections = 4
                $0.maxConnectionsPerAddress = 4
            }, threads: 1)
        let busy = try RawClient(port: server.port, source: "127.0.0.2")
        try busy.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(await eventually { server.handledPaths.contains("/slow") })
        let idle = (0..<3).compactMap { _ in try? RawClient(port: server.port, source: "127.0.0.3") }
        for client in idle {
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().statusCode == 200)
        }
        // At the cap: the idle keep-alive connections go, the busy one stays.
        let newcomer = try RawClient(port: server.port, source: "127.0.0.4")
        try newcomer.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try newcomer.readResponse().statusCode == 200)
        #expect(try busy.readResponse().statusCode == 200)
        await server.stop(gracePeriod: .milliseconds(100))
    }
}
