import EventLoops
import Foundation
import HTTPCore
import HTTPServer
import Synchronization

/// A real server on 127.0.0.1:0 with test routes, recording every request a handler saw.
final class TestServer: Sendable {
    let group: EventLoopGroup
    let server: HTTPServer
    let port: UInt16
    private let seen: Recorder

    final class Recorder: Responder {
        let router: Router
        let paths = Mutex<[String]>([])
        init(router: Router) { self.router = router }
        func respond(to request: Request, context: RequestContext) async -> Response {
            paths.withLock { $0.append(request.path) }
            return await router.respond(to: request, context: context)
        }
    }

    init(configure: (inout HTTPServer.Configuration) -> Void = { _ in }, threads: Int = 2) throws {
        var configuration = HTTPServer.Configuration(address: SocketAddress(host: "127.0.0.1", port: 0))
        configure(&configuration)
        group = try EventLoopGroup(threadCount: threads)
        seen = Recorder(router: TestServer.routes())
        server = HTTPServer(configuration: configuration, responder: seen, group: group)
        port = try server.start().port
    }

    /// Paths that reached a handler, in order.
    var handledPaths: [String] { seen.paths.withLock { $0 } }

    func stop(gracePeriod: Duration = .seconds(5)) async {
        await server.shutdown(gracePeriod: gracePeriod)
        group.shutdown()
    }

    static func routes() -> Router {
        var router = Router()
        router.get("/hello") { _, _ in .text("hello") }
        router.post("/echo") { request, _ in
            var response = Response(status: .ok, body: request.body)
            response.headers.add(name: "X-Body-Length", value: "\(request.body.count)")
            if let digest = request.trailers["x-digest"] {
                response.headers.add(name: "X-Trailer-Digest", value: digest)
            }
            return response
        }
        router.add("PUT", "/echo") { request, _ in Response(status: .ok, body: request.body) }
        router.get("/slow") { request, _ in
            let milliseconds = Int(request.query?.split(separator: "=").last ?? "100") ?? 100
            try await Task.sleep(for: .milliseconds(milliseconds))
            return .text("slept \(milliseconds)")
        }
        router.get("/connection") { _, context in .text("\(context.connectionId)") }
        router.get("/peer") { _, context in
            guard let peer = context.peerCertificate else { return .text("secure=\(context.isSecure) none") }
            return .text(
                "secure=\(context.isSecure) subject=\(peer.subject) issuer=\(peer.issuer) pin=\(peer.spkiSHA256) "
                    + "verified=\(peer.chainVerified) valid=\(peer.validNow) problem=\(peer.chainProblem ?? "-")")
        }
        router.get("/big") { request, _ in
            let size = Int(request.query?.split(separator: "=").last ?? "0") ?? 0
            return Response(body: [UInt8](repeating: 0x62, count: size))
        }
        router.get("/cities/{city}/services/{service}") { _, context in
            .text("\(context.pathParameters["city"] ?? "")|\(context.pathParameters["service"] ?? "")")
        }
        router.get("/fail") { _, _ in throw CancellationError() }
        return router
    }
}
