import EventLoops
import Foundation
import HTTPCore
import HTTPServer
import Synchronization

/// A programmable backend on our own HTTPServer (the way async-http-client tests itself against
/// its own HTTPBin): delays, statuses, sizes, Retry-After, and a count of requests per path.
final class BackendFixture: Sendable {
    let group: EventLoopGroup
    let server: HTTPServer
    let port: UInt16
    let hits: Hits

    final class Hits: Sendable {
        let counts = Mutex<[String: Int]>([:])
        let idempotencyKeys = Mutex<[String]>([])
        func record(_ path: String) { counts.withLock { $0[path, default: 0] += 1 } }
        func count(_ path: String) -> Int { counts.withLock { $0[path] ?? 0 } }
    }

    /// - Parameter idleTimeout: how long the backend keeps an idle keep-alive connection open.
    init(idleTimeout: Duration = .seconds(60)) throws {
        group = try EventLoopGroup(threadCount: 2)
        let hits = Hits()
        self.hits = hits
        var router = Router()
        @Sendable func query(_ request: Request, _ name: String) -> Int? {
            for pair in (request.query ?? "").split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == name { return Int(parts[1]) }
            }
            return nil
        }
        router.get("/ok") { request, _ in
            hits.record("/ok")
            return .json("{\"ok\":true}")
        }
        router.post("/echo") { request, _ in
            hits.record("/echo")
            var response = Response(status: .ok, body: request.body)
            for field in request.headers where field.name.lowercased().hasPrefix("x-") {
                response.headers.add(name: "Echo-" + field.name, value: field.value)
            }
            return response
        }
        router.get("/delay") { request, _ in
            hits.record("/delay")
            try await Task.sleep(for: .milliseconds(query(request, "ms") ?? 100))
            return .text("late")
        }
        router.get("/status") { request, _ in
            hits.record("/status")
            var response = Response.text("status", status: Status(code: query(request, "code") ?? 200))
            if let retryAfter = query(request, "retryAfter") {
                response.headers.add(name: "Retry-After", value: "\(retryAfter)")
            }
            return response
        }
        router.get("/bytes") { request, _ in
            hits.record("/bytes")
            return Response(body: [UInt8](repeating: 0x62, count: query(request, "n") ?? 10))
        }
        // The method and body size as the backend saw them (reused handles must not carry the
        // previous request's method, body or fields).
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            router.add(method, "/method") { request, _ in
                var response = Response.text("\(request.method) \(request.body.count)")
                response.headers.add(name: "Seen-Method", value: request.method)
                response.headers.add(
                    name: "Seen-Fields",
                    value: request.headers.filter { $0.name.lowercased().hasPrefix("x-") }.map(\.name).joined(
                        separator: ","))
                return response
            }
        }
        router.get("/headers") { _, _ in
            Response(status: .ok, headers: Headers([("X-Order", "1"), ("X-Order", "2"), ("X-Other", "3")]), body: [])
        }
        server = HTTPServer(
            configuration: HTTPServer.Configuration(
                address: SocketAddress(host: "127.0.0.1", port: 0), idleTimeout: idleTimeout),
            responder: router, group: group)
        port = try server.start().port
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        await server.shutdown(gracePeriod: .seconds(2))
        group.shutdown()
    }
}
