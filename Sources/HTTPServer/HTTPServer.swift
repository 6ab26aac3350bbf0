import EventLoops
import HTTPCore
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP/1.1 server: one listening socket shared by the loops of an ``EventLoopGroup``.
///
/// ```
///   let group = try EventLoopGroup()
///   let server = HTTPServer(configuration: .init(address: address), responder: router, group: group)
///   let bound = try server.start()          // the real port when 0 was asked for
///   ...
///   await server.shutdown(gracePeriod: .seconds(10))
/// ```
public final class HTTPServer: Sendable {
    /// The configuration in force.
    public let configuration: Configuration
    private let responder: any Responder
    private let group: EventLoopGroup
    private let core = Mutex<ServerCore?>(nil)

    /// Creates a server; nothing is bound until ``start()``.
    public init(configuration: Configuration, responder: some Responder, group: EventLoopGroup) {
        self.configuration = configuration
        self.responder = responder
        self.group = group
    }

    /// Binds, listens and registers with every loop. Returns the bound address.
    @discardableResult
    public func start() throws(SocketError) -> SocketAddress {
        if configuration.tls != nil {
            // OpenSSL writes to the socket with write(2), which raises SIGPIPE when the peer has
            // gone (our own sends pass MSG_NOSIGNAL; OpenSSL's cannot). A server never wants the
            // signal's default of ending the process: the write's EPIPE is handled instead.
            signal(SIGPIPE, SIG_IGN)
        }
        let listener = try ListeningSocket(address: configuration.address, backlog: configuration.backlog)
        let core = ServerCore(
            configuration: configuration, responder: responder, listener: listener,
            token: group.makeListenerToken())
        for loop in group.loops {
            // Registering from outside the loop thread is safe: epoll_ctl is thread-safe and the
            // `listeners` table is updated on the loop itself.
            loop.execute {
                do throws(SocketError) {
                    try loop.server.startListening(core)
                } catch {
                    Log.error("could not register listener", ["error": error.description])
                }
            }
        }
        self.core.withLock { $0 = core }
        return listener.address
    }

    /// The bound address, once started.
    public var address: SocketAddress? { core.withLock { $0?.listener.address } }

    /// Connections currently open.
    public var openConnectionCount: Int {
        core.withLock { $0?.openConnections.load(ordering: .relaxed) ?? 0 }
    }

    /// Stops accepting, lets in-flight requests finish (their responses carry
    /// `Connection: close`), closes idle connections at once, and after `gracePeriod` closes
    /// whatever is left. Returns when every connection is closed.
    public func shutdown(gracePeriod: Duration) async {
        guard let core = core.withLock({ $0 }) else { return }
        core.draining.store(true, ordering: .relaxed)
        for loop in group.loops {
            await loop.run { loop.server.drain(core, force: false) }
        }
        core.listener.close()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: gracePeriod)
        while core.openConnections.load(ordering: .relaxed) > 0 && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if core.openConnections.load(ordering: .relaxed) > 0 {
            for loop in group.loops {
                await loop.run { loop.server.drain(core, force: true) }
            }
        }
        self.core.withLock { $0 = nil }
    }
}
