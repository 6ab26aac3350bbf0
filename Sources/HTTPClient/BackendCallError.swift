/// Why a call through a ``BackendClient`` failed: libcurl failed to complete it, or the
/// gateway's own resilience refused to send it. The two are kept apart because they mean
/// different things to a caller: a transport failure says something about the backend (and
/// counts against it); a refusal says the gateway is protecting it, and nothing was sent.
public enum BackendCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libcurl's failure of the last attempt.
    case transport(CurlError)
    /// The backend's circuit breaker is open: calls are paused after repeated failures.
    case circuitOpen(backend: String)
    /// The backend already has its most calls in flight (the bulkhead, `maxInFlight`).
    case bulkheadFull(backend: String, limit: Int)

    /// libcurl's failure, when the call was sent and failed.
    public var transportError: CurlError? {
        if case .transport(let error) = self { return error }
        return nil
    }

    /// Whether the caller's own task was cancelled (which says nothing about the backend).
    public var isCancellation: Bool {
        if case .transport(let error) = self { return error.kind == .cancelled }
        return false
    }

    /// Whether the gateway refused the call without sending it.
    public var isRefusal: Bool {
        switch self {
        case .transport: false
        case .circuitOpen, .bulkheadFull: true
        }
    }

    /// A short reason for logs and dead-letter records.
    public var reason: String {
        switch self {
        case .transport(let error): error.kind.rawValue
        case .circuitOpen: "circuit-open"
        case .bulkheadFull: "bulkhead-full"
        }
    }

    /// What happened, naming the backend.
    public var description: String {
        switch self {
        case .transport(let error): "\(error)"
        case .circuitOpen(let backend): "backend '\(backend)' is failing; its circuit breaker is open"
        case .bulkheadFull(let backend, let limit): "backend '\(backend)' has \(limit) calls in flight"
        }
    }
}
