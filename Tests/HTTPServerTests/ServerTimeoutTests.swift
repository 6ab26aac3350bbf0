import Foundation
import HTTPServer
import Testing

/// Deadlines, concurrency and shutdown, with short timeouts so the tests stay quick.
struct ServerTimeoutTests {
    @Test
    func slowHeaderClientIsCutOffWhileOthersAreServed() async throws {
        let server = try TestServer(configure: { $0.headerReadTimeout = .milliseconds(600) })
        let slow = try RawClient(port: server.port)
        let start = ContinuousClock.now
        try slow.send("GET /hello HTTP/1.1\r\n")
        // Trickle one header byte at a time while a well-behaved client keeps being served.
        let steady = try RawClient(port: server.port)
        var servedMeanwhile = 0
        var cutOff = false
        for byte in Array("X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8) {
            if (try? slow.send([byte])) == nil {
                cutOff = true
                break
            }
            try steady.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            if try steady.readResponse().statusCode == 200 { servedMeanwhile += 1 }
            try await Task.sleep(for: .milliseconds(50))
            if ContinuousClock.now - start > .seconds(3) { break }
        }
        let (bytes, closed) = slow.readUntilClose()
        #expect(closed || cutOff)
        if !bytes.isEmpty { #expect(RawClient.statusCodes(in: bytes) == [408]) }
        #expect(ContinuousClock.now - start < .seconds(3), "cut off near the 600 ms header deadline")
        #expect(servedMeanwhile >= 5)
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

    @Test
    func twoHundredConcurrentConnectionsAreAllServed() async throws {
        let server = try TestServer()
        let port = server.port
        let results = await withTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        let client = try RawClient(port: port)
                        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(String(index).count)\r\n\r\n\(index)")
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
    func connectionCapClosesExtraConnections() async throws {
        let server = try TestServer(configure: { $0.maxConnections = 3 })
        let held = try (0..<3).map { _ in try RawClient(port: server.port) }
        for client in held {
            try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.readResponse().statusCode == 200)
        }
        let extra = try RawClient(port: server.port)
        try? extra.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(extra.isClosedByPeer())
        #expect(server.server.openConnectionCount == 3)
        await server.stop()
    }

    @Test
    func gracefulShutdownDrainsInFlightRequestAndClosesIdleOnes() async throws {
        let server = try TestServer()
        let idle = try RawClient(port: server.port)
        try idle.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try idle.readResponse().statusCode == 200)
        let busy = try RawClient(port: server.port)
        try busy.send("GET /slow?ms=500 HTTP/1.1\r\nHost: a\r\n\r\n")
        try await Task.sleep(for: .milliseconds(100))
        let port = server.port
        async let stopped: Void = server.stop(gracePeriod: .seconds(5))
        try await Task.sleep(for: .milliseconds(100))
        #expect(idle.isClosedByPeer(), "idle connections close at once")
        #expect((try? RawClient(port: port)) == nil, "no new connections are accepted")
        let response = try busy.readResponse()
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
