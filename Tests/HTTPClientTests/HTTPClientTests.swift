import Foundation
import HTTPClient
import HTTPCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The libcurl client against real servers on loopback.
struct HTTPClientTests {
    static let client: HTTPClient = {
        do {
            return try HTTPClient()
        } catch {
            fatalError("the shared test client could not start: \(error)")
        }
    }()

    func soon(_ seconds: Double = 5) -> ContinuousClock.Instant { .now + .milliseconds(Int(seconds * 1000)) }

    @Test
    func getsAResponseWithHeadersInOrder() async throws {
        let backend = try BackendFixture()
        let response = try await Self.client.execute(ClientRequest(url: backend.baseURL + "/headers"), deadline: soon())
        #expect(response.status == 200)
        #expect(response.headers.values(for: "x-order") == ["1", "2"])
        let names = response.headers.map { $0.name }
        let first = try #require(names.firstIndex(of: "X-Order"))
        let other = try #require(names.firstIndex(of: "X-Other"))
        #expect(first < other)
        #expect(response.httpVersion == "1.1")
        await backend.stop()
    }

    @Test
    func postsABodyAndHeaders() async throws {
        let backend = try BackendFixture()
        let body = Array("{\"year\":2026}".utf8)
        let response = try await Self.client.execute(
            ClientRequest(
                method: "POST", url: backend.baseURL + "/echo",
                headers: ["X-Trace": "abc", "Content-Type": "application/json"], body: body),
            deadline: soon())
        #expect(response.body == body)
        #expect(response.headers["echo-x-trace"] == "abc")
        await backend.stop()
    }

    @Test
    func deadlineHitWhileTheBackendSleeps() async throws {
        let backend = try BackendFixture()
        let start = ContinuousClock.now
        await #expect(throws: CurlError.self) {
            _ = try await Self.client.execute(
                ClientRequest(url: backend.baseURL + "/delay?ms=3000"), deadline: .now + .milliseconds(300))
        }
        do {
            _ = try await Self.client.execute(
                ClientRequest(url: backend.baseURL + "/delay?ms=3000"), deadline: .now + .milliseconds(300))
        } catch {
            #expect(error.kind == .timeout)
        }
        #expect(ContinuousClock.now - start < .seconds(2))
        await backend.stop()
    }

    @Test
    func connectionRefused() async throws {
        let port = try RawClient.unusedPort()
        do {
            _ = try await Self.client.execute(ClientRequest(url: "http://127.0.0.1:\(port)/"), deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .connectRefused)
            #expect(error.code == 7)
        }
    }

    @Test
    func unresolvableHost() async throws {
        do {
            _ = try await Self.client.execute(ClientRequest(url: "http://no-such-host.invalid/"), deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .dns)
        }
    }

    @Test
    func backendClosingMidBody() async throws {
        let backend = try ScriptedTCPServer(script: [
            .write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little"), .sleep(milliseconds: 50),
            .close(reset: false),
        ])
        do {
            _ = try await Self.client.execute(ClientRequest(url: "http://127.0.0.1:\(backend.port)/"), deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .reset)
        }
        backend.stop()
    }

    @Test
    func backendResettingTheConnection() async throws {
        let backend = try ScriptedTCPServer(script: [.close(reset: true)])
        do {
            _ = try await Self.client.execute(ClientRequest(url: "http://127.0.0.1:\(backend.port)/"), deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .reset)
        }
        backend.stop()
    }

    @Test
    func chunkedAndTrickledResponsesAreReassembled() async throws {
        let backend = try ScriptedTCPServer(script: [
            .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"),
            .write("5\r\nhello\r\n"), .sleep(milliseconds: 30), .write("1\r\n \r\n"), .sleep(milliseconds: 30),
            .write("5\r\nworld\r\n0\r\n\r\n"), .close(reset: false),
        ])
        let response = try await Self.client.execute(
            ClientRequest(url: "http://127.0.0.1:\(backend.port)/"), deadline: soon())
        #expect(String(decoding: response.body, as: UTF8.self) == "hello world")
        backend.stop()
    }

    @Test
    func responseOverTheCapFails() async throws {
        let backend = try BackendFixture()
        let small = try HTTPClient(configuration: .init(maxResponseBytes: 1000))
        let fits = try await small.execute(ClientRequest(url: backend.baseURL + "/bytes?n=1000"), deadline: soon())
        #expect(fits.body.count == 1000)
        do {
            _ = try await small.execute(ClientRequest(url: backend.baseURL + "/bytes?n=1001"), deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .tooLarge)
        }
        // Without Content-Length the cap is enforced while the body streams in.
        let chunked = try ScriptedTCPServer(script: [
            .write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            .write("3e8\r\n" + String(repeating: "x", count: 1000) + "\r\n"),
            .write("3e8\r\n" + String(repeating: "y", count: 1000) + "\r\n0\r\n\r\n"), .close(reset: false),
        ])
        do {
            _ = try await small.execute(ClientRequest(url: "http://127.0.0.1:\(chunked.port)/"), deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .tooLarge)
        }
        small.shutdown()
        chunked.stop()
        await backend.stop()
    }

    @Test
    func cancellationMidFlightFreesTheHandle() async throws {
        let backend = try BackendFixture()
        let client = try HTTPClient()
        let task = Task {
            try await client.execute(
                ClientRequest(url: backend.baseURL + "/delay?ms=5000"), deadline: .now + .seconds(10))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(client.inFlightCount == 1)
        let start = ContinuousClock.now
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("expected cancellation")
        } catch let error as CurlError {
            #expect(error.kind == .cancelled)
        }
        #expect(ContinuousClock.now - start < .milliseconds(500))
        #expect(client.inFlightCount == 0)
        client.shutdown()
        await backend.stop()
    }

    @Test
    func alreadyCancelledTaskNeverStartsATransfer() async throws {
        let backend = try BackendFixture()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await Self.client.execute(ClientRequest(url: backend.baseURL + "/ok"), deadline: soon())
        }
        await #expect(throws: CurlError.self) { try await task.value }
        #expect(backend.hits.count("/ok") == 0)
        await backend.stop()
    }

    @Test
    func aThousandConcurrentRequestsAllComplete() async throws {
        let backend = try BackendFixture()
        let url = backend.baseURL + "/ok"
        let successes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<1000 {
                group.addTask {
                    (try? await Self.client.execute(ClientRequest(url: url), deadline: .now + .seconds(30)))?.status
                        == 200
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(successes == 1000)
        await backend.stop()
    }

    @Test
    func noDescriptorLeakOverTenThousandRequests() async throws {
        let backend = try BackendFixture()
        let client = try HTTPClient(configuration: .init(maxConnectionsPerHost: 16))
        let url = backend.baseURL + "/ok"
        // Warm up: the pool's connections and libcurl's internal descriptors exist from here on.
        _ = try await client.execute(ClientRequest(url: url), deadline: soon())
        #expect(try socketsConnected(toPort: backend.port) <= 16)
        var failures = 0
        for _ in 0..<100 {
            failures += await withTaskGroup(of: Int.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        (try? await client.execute(ClientRequest(url: url), deadline: .now + .seconds(30))) == nil
                            ? 1 : 0
                    }
                }
                return await group.reduce(0, +)
            }
        }
        #expect(failures == 0)
        // Descriptors are counted precisely (sockets whose peer is this backend), because other
        // tests open and close their own sockets in this process at the same time.
        let after = try socketsConnected(toPort: backend.port)
        #expect(after <= 16, "only the pool's connections may stay open; found \(after)")
        #expect(client.inFlightCount == 0)
        client.shutdown()
        await backend.stop()
    }

    /// Pooled connections stay registered with the loop while idle (docs/architecture.md). When
    /// the backend closes them, the loop must neither spin on their end-of-stream (it is
    /// level-triggered) nor hand a dead one to the next request.
    @Test
    func idleConnectionsClosedByTheBackendAreDroppedWithoutSpinning() async throws {
        let backend = try BackendFixture(idleTimeout: .milliseconds(300))
        let client = try HTTPClient(configuration: .init(maxConnectionsPerHost: 8))
        let url = backend.baseURL + "/ok"
        func burst() async -> Int {
            await withTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        (try? await client.execute(ClientRequest(url: url), deadline: .now + .seconds(5)))?.status ?? 0
                    }
                }
                return await group.reduce(0) { $0 + ($1 == 200 ? 1 : 0) }
            }
        }
        #expect(await burst() == 8)
        #expect(try socketsConnected(toPort: backend.port) > 0)
        // The backend closes every idle connection within ~0.55 s (300 ms + its 250 ms sweep).
        let cpuBefore = Self.processCPUSeconds()
        try await Task.sleep(for: .milliseconds(1500))
        let cpuWhileIdle = Self.processCPUSeconds() - cpuBefore
        #expect(cpuWhileIdle < 0.5, "the process burned \(cpuWhileIdle) s of CPU while idle")
        // libcurl finds the dead ones when it next looks, closes them and connects anew.
        for _ in 0..<3 {
            #expect(await burst() == 8)
        }
        #expect(try socketsConnected(toPort: backend.port) <= 8)
        client.shutdown()
        await backend.stop()
    }

    /// A proxy named only by the environment is not used: citizens' data leaves only through
    /// what the configuration names. (The suite runs serially, so the variable is this test's.)
    @Test
    func proxyEnvironmentVariablesAreIgnored() async throws {
        let backend = try BackendFixture()
        let client = try HTTPClient()
        // Port 1 on loopback refuses connections: a request sent through this proxy would fail.
        setenv("http_proxy", "http://127.0.0.1:1", 1)
        setenv("no_proxy", "", 1)
        defer {
            unsetenv("http_proxy")
            unsetenv("no_proxy")
        }
        let response = try await client.execute(ClientRequest(url: backend.baseURL + "/ok"), deadline: soon())
        #expect(response.status == 200)
        client.shutdown()
        await backend.stop()
    }

    /// One client, one handle reused request after request (they run one at a time): each
    /// request arrives with its own method, body and fields, none left over from the last.
    @Test
    func reusedHandlesCarryNothingOverFromTheLastRequest() async throws {
        let backend = try BackendFixture()
        let client = try HTTPClient()
        let steps: [(method: String, body: String, field: String?, expected: String)] = [
            ("POST", "abc", "X-First", "POST 3"), ("GET", "", nil, "GET 0"), ("HEAD", "", nil, ""),
            ("PUT", "xy", nil, "PUT 2"), ("DELETE", "", "X-Second", "DELETE 0"), ("PATCH", "", nil, "PATCH 0"),
            ("GET", "", nil, "GET 0"), ("POST", "", nil, "POST 0"), ("HEAD", "", nil, ""), ("GET", "", nil, "GET 0"),
        ]
        for step in steps {
            var request = ClientRequest(
                method: step.method, url: backend.baseURL + "/method", body: Array(step.body.utf8))
            if let field = step.field { request.headers.add(name: field, value: "1") }
            let response = try await client.execute(request, deadline: soon())
            #expect(response.status == 200, "\(step)")
            #expect(response.headers["Seen-Method"] == (step.method == "HEAD" ? "HEAD" : step.method), "\(step)")
            #expect(String(decoding: response.body, as: UTF8.self) == step.expected, "\(step)")
            #expect(response.headers["Seen-Fields"] == (step.field ?? ""), "\(step)")
        }
        client.shutdown()
        await backend.stop()
    }

    /// A field carrying a line break is refused before anything is sent, whoever built it.
    @Test(arguments: [("X-Hall", "a\r\nX-Injected: 1"), ("X-Hall", "a\nb"), ("X-Hall", "a\u{0}b"), ("X-A\r\nB", "v")])
    func headerFieldsWithLineBreaksAreRefused(_ name: String, _ value: String) async throws {
        let backend = try BackendFixture()
        let client = try HTTPClient()
        var request = ClientRequest(url: backend.baseURL + "/ok")
        request.headers.add(name: name, value: value)
        do {
            _ = try await client.execute(request, deadline: soon())
            Issue.record("a field with a line break was sent")
        } catch {
            #expect(error.kind == .other)
            #expect(error.message.contains("contains a line break or NUL"))
        }
        client.shutdown()
        await backend.stop()
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    @Test
    func unsupportedSchemeIsRefused() async throws {
        do {
            _ = try await Self.client.execute(ClientRequest(url: "file:///etc/passwd"), deadline: soon())
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .other)
            #expect(error.code == 1)  // CURLE_UNSUPPORTED_PROTOCOL
        }
    }
}

/// Open descriptors of this process that are TCP sockets connected to 127.0.0.1:`port`.
func socketsConnected(toPort port: UInt16) throws -> Int {
    var count = 0
    for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
        guard let fd = Int32(entry) else { continue }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        if result == 0 && address.sin_family == sa_family_t(AF_INET) && UInt16(bigEndian: address.sin_port) == port {
            count += 1
        }
    }
    return count
}
