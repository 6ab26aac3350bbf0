import HTTPCore
import HTTPServer

/// The running gateway: the public listener for partners and the ops listener for operators,
/// sharing one event-loop group.
///
/// ```
///   public 127.0.0.1:8080  GET /healthz, GET /readyz   (partner routes join as issues land)
///   ops    127.0.0.1:9090  GET /healthz, GET /readyz
/// ```
public final class Gateway: Sendable {
    /// How to start the gateway.
    public struct Configuration: Sendable {
        /// The public listener's address.
        public var publicAddress: SocketAddress
        /// The ops listener's address.
        public var opsAddress: SocketAddress
        /// Event-loop threads; defaults to one per core.
        public var threadCount: Int
        /// Mounts `GET /bench/fixed` (a fixed 200-byte JSON body) for `make bench` only.
        public var benchmarkRoute: Bool
        /// Limits and timeouts of the HTTP layer, shared by both listeners.
        public var http: HTTPServer.Configuration

        /// Creates a configuration with the documented defaults.
        public init(
            publicAddress: SocketAddress = SocketAddress(host: "127.0.0.1", port: 8080),
            opsAddress: SocketAddress = SocketAddress(host: "127.0.0.1", port: 9090),
            threadCount: Int = EventLoopGroup.coreCount,
            benchmarkRoute: Bool = false,
            http: HTTPServer.Configuration = HTTPServer.Configuration()
        ) {
            self.publicAddress = publicAddress
            self.opsAddress = opsAddress
            self.threadCount = threadCount
            self.benchmarkRoute = benchmarkRoute
            self.http = http
        }
    }

    /// A 200-byte JSON body for the benchmark route, the same bytes nginx serves in `make bench`.
    public static let benchmarkBody: [UInt8] = {
        let prefix = "{\"service\":\"citygate\",\"city\":\"330100\",\"status\":\"ok\",\"padding\":\""
        let suffix = "\"}"
        let padding = String(repeating: "x", count: 200 - prefix.utf8.count - suffix.utf8.count)
        return Array((prefix + padding + suffix).utf8)
    }()

    private let group: EventLoopGroup
    private let publicServer: HTTPServer
    private let opsServer: HTTPServer
    private let health: HealthChecks

    /// Creates the loops and both servers; nothing is bound until ``start()``.
    public init(configuration: Configuration) throws(SocketError) {
        group = try EventLoopGroup(threadCount: configuration.threadCount)
        health = HealthChecks()
        var publicHTTP = configuration.http
        publicHTTP.address = configuration.publicAddress
        var opsHTTP = configuration.http
        opsHTTP.address = configuration.opsAddress
        publicServer = HTTPServer(
            configuration: publicHTTP,
            responder: Gateway.publicRouter(health: health, benchmarkRoute: configuration.benchmarkRoute),
            group: group)
        opsServer = HTTPServer(configuration: opsHTTP, responder: Gateway.opsRouter(health: health), group: group)
    }

    /// Binds both listeners. Returns the bound public and ops addresses.
    public func start() throws(SocketError) -> (publicAddress: SocketAddress, opsAddress: SocketAddress) {
        let publicAddress = try publicServer.start()
        let opsAddress: SocketAddress
        do {
            opsAddress = try opsServer.start()
        } catch {
            group.shutdown()
            throw error
        }
        health.markListening()
        return (publicAddress, opsAddress)
    }

    /// Graceful shutdown of both listeners, then the loops.
    public func shutdown(gracePeriod: Duration) async {
        health.markStopping()
        async let publicDone: Void = publicServer.shutdown(gracePeriod: gracePeriod)
        async let opsDone: Void = opsServer.shutdown(gracePeriod: gracePeriod)
        _ = await (publicDone, opsDone)
        group.shutdown()
    }

    static func publicRouter(health: HealthChecks, benchmarkRoute: Bool) -> Router {
        var router = Router()
        health.mount(on: &router)
        if benchmarkRoute {
            let body = Gateway.benchmarkBody
            router.get("/bench/fixed") { _, _ in
                Response(status: .ok, headers: ["Content-Type": "application/json"], body: body)
            }
        }
        return router
    }

    static func opsRouter(health: HealthChecks) -> Router {
        var router = Router()
        health.mount(on: &router)
        return router
    }
}
