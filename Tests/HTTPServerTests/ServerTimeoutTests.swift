import Foundation
import HTTPServer
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Deadlines, concurrency and shutdown, with short timeouts so the tests stay quick.
struct ServerTimeoutTests {
    @Test
    func slowHeaderClientIsCutOffWhileOthersAreServed() async throws {
        let server = try TestServer(configure: { $0.headerReadTimeout = .milliseconds(600) })
        let slow = try RawClient(port: server.port)
        let steady = try RawClient(port: server.port)
        // The slow client trickles one header byte every 50 ms on its own thread...
        async let slowOutcome = blocking { () -> (statuses: [Int], closed: Bool, seconds: Double) in
            let start = Date()
            try slow.send("GET /hello HTTP/1.1\r\n")
            for byte in Array("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8) {
                if (try? slow.send([byte])) == nil || Date().timeIntervalSince(start) > 3 { break }
                usleep(50_000)
            }
            let (bytes, closed) = slow.readUntilClose()
            return (RawClient.statusCodes(in: bytes), closed, Date().timeIntervalSince(start))
        }
        // ...while a well-behaved client keeps being served on another.
        async let served = blocking { () -> Int in
            var count = 0
            let start = Date()
            while Date().timeIntervalSince(start) < 0.5 {
                try steady.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                if try steady.readResponse().statusCode == 200 { count += 1 }
            }
            return count
        }
        let outcome = try await slowOutcome
        #expect(outcome.closed)
        #expect(outcome.statuses == [408] || outcome.statuses.isEmpty)
        #expect(outcome.seconds < 2.5, "cut off near the 600 ms header deadline, not after the whole trickle")
        #expect(try await served >= 5)
        await server.stop()
    }

    @Test
    func idleKeptAliveConnectionIsClosed() async throws {
        let server = try TestServer(configure: { $0.idleTimeout = .milliseconds(400) })
        let client = try RawClient(port: server.port)
        try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.readResponse().statusCode == 200)
        let start = ContinuousClock.now
        #expect(client.isClosedByPeer())
        #expect(ContinuousClock.now - start < .seconds(2))
        await server.stop()
    }

    @Test
    func stalledBodyIsCutOff() async throws {
        let server = try TestServer(configure: { $0.bodyReadTimeout = .milliseconds(400) })
        let client = try RawClient(port: server.port)
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-part")
        let start = ContinuousClock.now
        #expect(client.isClosedByPeer())
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(server.handledPaths.isEmpty)
        await server.stop()
    }

    /// A client that asks for a large answer and stops reading is cut off after the write
    /// timeout, and the server keeps serving others meanwhile (slow-read defence).
    @Test
    func clientThatStopsReadingIsCutOffAfterTheWriteTimeout() async throws {
        let server = try TestServer(configure: { $0.writeTimeout = .milliseconds(500) })
        let reader = try RawClient(port: server.port)
        var small: Int32 = 4096
        setsockopt(reader.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try reader.send("GET /big?n=33554432 HTTP/1.1\r\nHost: a\r\n\r\n")
        let other = try RawClient(port: server.port)
        try other.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await blocking { try other.readResponse().statusCode } == 200)
        #expect(
            await eventually(timeout: .seconds(5)) { server.server.openConnectionCount == 1 },
            "the stalled reader is closed")
        try other.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await blocking { try other.readResponse().statusCode } == 200, "the other client is still served")
        await server.stop()
    }

    @Test
    func twoHundredConcurrentConnectionsAreAllServed() async throws {
        let server = try TestServer()
        let port = server.port
        let results = await withTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        let client = try RawClient(port: port)
                        try client.send(
                            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(String(index).count)\r\n\r\n\(index)")
                        let response = try client.readResponse()
                        return response.text == "\(index)" ? 1 : 0
                    } catch {
                        return 0
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(results == 200)
        await server.stop()
    }

    @Test
    func connectionCapRefusesWhenNothingCanBeShed() async throws {
        let server = try TestServer(configure: { $0.maxConnections = 3 })
        // Three requests being handled: nothing at the cap may be shed for a newcomer.
        let held = try (0..<3).map { _ in try RawClient(port: server.port) }
        for client in held { try client.send("GET /slow?ms=1500 HTTP/1.1\r\nHost: a\r\n\r\n") }
        #expect(await eventually { server.handledPaths.count == 3 })
        let extra = try RawClient(port: server.port)
        let refused = try extra.readResponse()
        #expect(refused.statusCode == 503)
        #expect(refused.text.contains("server-busy"))
        #expect(extra.isClosedByPeer())
        #expect(server.server.openConnectionCount == 3)
        for client in held { #expect(try client.readResponse().statusCode == 200) }
        await server.stop()
    }

    @Test
    func gracefulShutdownDrainsInFlightRequestAndClosesIdleOnes() async throws {
        let server = try TestServer()
        let idle = try RawClient(port: server.port)
        try idle.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try await blocking { try idle.readResponse().statusCode } == 200)
        let busy = try RawClient(port: server.port)
        try busy.send("GET /slow?ms=500 HTTP/1.1\r\nHost: a\r\n\r\n")
        try await Task.sleep(for: .milliseconds(100))
        let port = server.port
        async let stopped: Void = server.stop(gracePeriod: .seconds(5))
        #expect(try await blocking { idle.isClosedByPeer() }, "idle connections close at once")
        let response = try await blocking { try busy.readResponse() }
        #expect((try? RawClient(port: port)) == nil, "no new connections are accepted")
        #expect(response.statusCode == 200)
        #expect(response.text == "slept 500")
        #expect(response.header("Connection") == "close")
        await stopped
    }

    @Test
    func shutdownForceClosesAfterTheGracePeriod() async throws {
        let server = try TestServer()
        let busy = try RawClient(port: server.port)
        try busy.send("GET /slow?ms=5000 HTTP/1.1\r\nHost: a\r\n\r\n")
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        await server.stop(gracePeriod: .milliseconds(300))
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(busy.isClosedByPeer())
    }
}
