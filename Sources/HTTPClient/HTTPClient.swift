import CCurl
import Synchronization

/// The outbound HTTP client: libcurl's multi interface on a dedicated thread, with async/await.
///
/// ```
///   let client = try HTTPClient()
///   let response = try await client.execute(ClientRequest(url: "http://127.0.0.1:18100/api"),
///                                           deadline: .now + .seconds(3))
/// ```
///
/// Connections are pooled per host and reused; HTTP/2 is used where the backend offers it.
/// Cancelling the calling task removes the transfer from libcurl at once.
public final class HTTPClient: Sendable {
    /// The configuration in force.
    public let configuration: Configuration
    private let engine: CurlEngine
    private let nextID = Atomic<UInt64>(1)

    /// Starts the client's thread.
    public init(configuration: Configuration = Configuration()) throws(CurlError) {
        self.configuration = configuration
        self.engine = try CurlEngine(configuration: configuration)
    }

    /// Transfers currently running.
    public var inFlightCount: Int { engine.inFlightCount }

    /// Performs one request; never waits past `deadline`.
    public func execute(_ request: ClientRequest, deadline: ContinuousClock.Instant) async throws(CurlError)
        -> ClientResponse
    {
        if Task.isCancelled { throw CurlEngine.cancelledError }
        let transfer = CurlTransfer(
            id: nextID.add(1, ordering: .relaxed).oldValue, request: request, deadline: deadline,
            maxResponseBytes: configuration.maxResponseBytes)
        let engine = self.engine
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                transfer.continuation = continuation
                engine.submit(.add(transfer))
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .releasing)
            engine.submit(.cancel(transfer))
        }
        return try result.get()
    }

    /// Stops the thread; requests still running fail with `.cancelled`.
    public func shutdown() {
        engine.stop()
    }
}
