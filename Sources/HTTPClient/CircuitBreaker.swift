/// A circuit breaker as a pure state machine; the caller supplies the time.
///
/// ```
///   closed ──failure ratio ≥ threshold over the last N outcomes (≥ minimum)──► open
///   open ──openDuration elapsed──► halfOpen (up to `halfOpenTrials` requests let through)
///   halfOpen ──every trial succeeded──► closed        halfOpen ──any trial failed──► open
/// ```
public struct CircuitBreaker: Sendable {
    /// When to open and how to recover. Each value has a named default.
    public struct Configuration: Sendable, Hashable {
        /// Outcomes remembered while closed. Default 20.
        public var windowSize: Int
        /// Outcomes needed before the ratio is judged. Default 10.
        public var minimumRequests: Int
        /// Failure share that opens the breaker. Default 0.5.
        public var failureRatio: Double
        /// Time open before trials are let through. Default 5 s.
        public var openDuration: Duration
        /// Trial requests in half-open; all must succeed to close. Default 3.
        public var halfOpenTrials: Int

        /// Creates a configuration; every argument defaults to the documented value.
        public init(
            windowSize: Int = 20,
            minimumRequests: Int = 10,
            failureRatio: Double = 0.5,
            openDuration: Duration = .seconds(5),
            halfOpenTrials: Int = 3
        ) {
            self.windowSize = max(1, windowSize)
            self.minimumRequests = max(1, min(minimumRequests, self.windowSize))
            self.failureRatio = failureRatio
            self.openDuration = openDuration
            self.halfOpenTrials = max(1, halfOpenTrials)
        }
    }

    /// The breaker's state.
    public enum State: String, Sendable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    /// The configuration.
    public let configuration: Configuration
    /// The current state (`open` is reported until a request moves it to half-open).
    public private(set) var state: State = .closed
    private var outcomes: [Bool] = []
    private var nextSlot = 0
    private var openedAt: ContinuousClock.Instant?
    private var trialsStarted = 0
    private var trialsSucceeded = 0

    /// Creates a closed breaker.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Whether a request may go out now. In half-open, a `true` answer is a trial: report its
    /// outcome with ``record(success:now:)`` or give it back with ``releaseTrial()``.
    public mutating func acquire(now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed:
            return true
        case .open:
            guard let openedAt, openedAt.duration(to: now) >= configuration.openDuration else { return false }
            state = .halfOpen
            trialsStarted = 0
            trialsSucceeded = 0
            return acquire(now: now)
        case .halfOpen:
            guard trialsStarted < configuration.halfOpenTrials else { return false }
            trialsStarted += 1
            return true
        }
    }

    /// A trial that was acquired but never sent.
    public mutating func releaseTrial() {
        if state == .halfOpen && trialsStarted > 0 { trialsStarted -= 1 }
    }

    /// Records the outcome of a request that `acquire` let through.
    public mutating func record(success: Bool, now: ContinuousClock.Instant) {
        switch state {
        case .closed:
            if outcomes.count < configuration.windowSize {
                outcomes.append(success)
            } else {
                outcomes[nextSlot] = success
            }
            nextSlot = (nextSlot + 1) % configuration.windowSize
            let failures = outcomes.count(where: { !$0 })
            if outcomes.count >= configuration.minimumRequests
                && Double(failures) / Double(outcomes.count) >= configuration.failureRatio
            {
                open(now: now)
            }
        case .halfOpen:
            if !success {
                open(now: now)
                return
            }
            trialsSucceeded += 1
            if trialsSucceeded >= configuration.halfOpenTrials {
                state = .closed
                outcomes = []
                nextSlot = 0
            }
        case .open:
            // A late answer from before the breaker opened changes nothing.
            break
        }
    }

    private mutating func open(now: ContinuousClock.Instant) {
        state = .open
        openedAt = now
        outcomes = []
        nextSlot = 0
    }
}
