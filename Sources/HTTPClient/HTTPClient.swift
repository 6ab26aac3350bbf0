import CCurl
import Dispatch
import EventLoops
import Synchronization

/// The outbound HTTP client: libcurl's multi interface driven by event loops, with async/await.
///
/// ```
///   let client = try HTTPClient()                    // its own loop thread
///   let client = try HTTPClient(loops: server.group) // the server's loops: no thread hops
///   let response = try await client.execute(ClientRequest(url: "http://127.0.0.1:18100/api"),
///                                           deadline: .now + .seconds(3))
/// ```
///
/// Each loop has one engine (one multi handle). A caller running on one of the loops — a
/// request handler — uses that loop's engine directly and is resumed there; other callers are
/// spread over the engines and hop to the chosen loop once each way. Connections are pooled per
/// engine and host and reused; HTTP/2 is used where the backend offers it. Cancelling the
/// calling task removes the transfer from libcurl at once.
public final class HTTPClient: Sendable {
    /// The configuration in force.
    public let configuration: Configuration
    private let engines: [CurlEngine]
    /// The loops this client created itself (and so shuts down); nil when it uses a server's.
    private let ownedLoops: EventLoopGroup?
    private let nextID = Atomic<UInt64>(1)
    private let nextEngine = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    /// Creates the client on `loops`, or on a loop of its own when nil.
    ///
    /// The pool limits are shared out between the loops (each engine gets its share, rounded up).
    public init(configuration: Configuration = Configuration(), loops: EventLoopGroup? = nil) throws(CurlError) {
        self.configuration = configuration
        let group: EventLoopGroup
        if let loops {
            group = loops
            ownedLoops = nil
        } else {
            do { group = try EventLoopGroup(threadCount: 1) } catch {
                throw CurlError(kind: .other, message: "cannot start the client's loop: \(error)")
            }
            ownedLoops = group
        }
        let count = group.loops.count
        func share(_ limit: Int) -> Int { max(1, (limit + count - 1) / count) }
        var engines: [CurlEngine] = []
        do {
            for loop in group.loops {
                engines.append(
                    try CurlEngine(
                        loop: loop, configuration: configuration,
                        connectionsPerHost: share(configuration.maxConnectionsPerHost),
                        totalConnections: share(configuration.maxTotalConnections),
                        cachedConnections: share(configuration.maxCachedConnections)))
            }
        } catch {
            ownedLoops?.shutdown()
            throw error
        }
        self.engines = engines
    }

    /// Transfers currently running.
    public var inFlightCount: Int { engines.reduce(0) { $0 + $1.inFlightCount } }

    /// Performs one request; never waits past `deadline`.
    public func execute(_ request: ClientRequest, deadline: ContinuousClock.Instant) async throws(CurlError)
        -> ClientResponse
    {
        if Task.isCancelled { throw CurlEngine.cancelledError }
        if stopped.load(ordering: .acquiring) { throw CurlError(kind: .cancelled, message: "client shut down") }
        let transfer = CurlTransfer(
            id: nextID.add(1, ordering: .relaxed).oldValue, request: request, deadline: deadline,
            maxResponseBytes: configuration.maxResponseBytes)
        let (engine, onLoop) = chooseEngine()
        let result = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                transfer.continuation = continuation
                if onLoop {
                    engine.add(transfer)
                } else {
                    engine.loop.schedule { engine.add(transfer) }
                }
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .releasing)
            // Scheduled even on the loop: cancellation may arrive in the middle of a callback.
            engine.loop.schedule { engine.cancel(transfer) }
        }
        return try result.get()
    }

    /// The engine of the caller's loop (`onLoop`), or the next one in turn for callers on no
    /// loop of ours.
    private func chooseEngine() -> (engine: CurlEngine, onLoop: Bool) {
        if let current = EventLoop.current, current.index < engines.count, engines[current.index].loop === current {
            return (engines[current.index], true)
        }
        let turn = nextEngine.add(1, ordering: .relaxed).oldValue
        return (engines[turn % engines.count], false)
    }

    /// Fails requests still running with `.cancelled` and releases libcurl; waits for it.
    /// Call it before the loops are shut down.
    public func shutdown() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for engine in engines {
            if engine.loop === EventLoop.current {
                engine.stop()
                continue
            }
            let done = DispatchSemaphore(value: 0)
            engine.loop.schedule {
                engine.stop()
                done.signal()
            }
            done.wait()
        }
        ownedLoops?.shutdown()
    }
}
