import Foundation

/// What ops see of one backend: derived from every real call (passive) and from probes (active).
public struct BackendHealth: Sendable, Equatable {
    /// A one-word verdict.
    public enum State: String, Sendable {
        /// Nothing known yet.
        case unknown
        /// The last outcome succeeded and the breaker is closed.
        case healthy
        /// The last outcome failed, or the breaker is trying again (half-open).
        case degraded
        /// The breaker is open, or three outcomes in a row failed.
        case down
    }

    /// The backend's name.
    public var name: String
    /// The verdict.
    public var state: State = .unknown
    /// The breaker's state.
    public var breaker: CircuitBreaker.State = .closed
    /// When a call or probe last succeeded (Unix seconds).
    public var lastSuccessAt: Double?
    /// When a call or probe last failed (Unix seconds).
    public var lastFailureAt: Double?
    /// Why it last failed (an error kind or `status 503`; never request content).
    public var lastFailureReason: String?
    /// Exponentially weighted recent latency of successful exchanges, milliseconds.
    public var recentLatencyMilliseconds: Double?
    /// Failures since the last success.
    public var consecutiveFailures = 0
    /// Calls in flight.
    public var inFlight = 0

    /// Creates an unknown health record.
    public init(name: String) {
        self.name = name
    }

    mutating func recordSuccess(latency: Duration, breaker: CircuitBreaker.State) {
        lastSuccessAt = Date().timeIntervalSince1970
        consecutiveFailures = 0
        let milliseconds = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
        recentLatencyMilliseconds = recentLatencyMilliseconds.map { $0 * 0.8 + milliseconds * 0.2 } ?? milliseconds
        self.breaker = breaker
        updateState()
    }

    mutating func recordFailure(reason: String, breaker: CircuitBreaker.State) {
        lastFailureAt = Date().timeIntervalSince1970
        lastFailureReason = reason
        consecutiveFailures += 1
        self.breaker = breaker
        updateState()
    }

    mutating func updateState() {
        if breaker == .open || consecutiveFailures >= 3 {
            state = .down
        } else if breaker == .halfOpen || consecutiveFailures > 0 {
            state = .degraded
        } else if lastSuccessAt != nil {
            state = .healthy
        }
    }
}
