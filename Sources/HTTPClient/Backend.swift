/// One named backend as configured for a city: where it is and how to treat it.
public struct Backend: Sendable, Hashable {
    /// The name manifests refer to (e.g. `hrss`).
    public var name: String
    /// The base URL; operation paths are appended to it.
    public var baseURL: String
    /// TLS settings (CA, client certificate for mutual TLS).
    public var tls: TLSOptions
    /// Retry schedule for idempotent operations.
    public var retry: RetryPolicy
    /// Circuit breaker settings.
    public var breaker: CircuitBreaker.Configuration
    /// Most calls in flight at once (bulkhead); more are refused at once. Default 32.
    public var maxInFlight: Int
    /// Path probed actively (GET, any status below 500 is healthy); nil disables probes.
    public var healthPath: String?
    /// Time between probes. Default 5 s.
    public var probeInterval: Duration
    /// Deadline of one probe. Default 1 s.
    public var probeTimeout: Duration

    /// Creates a backend; every tuning argument defaults to the documented value.
    public init(
        name: String,
        baseURL: String,
        tls: TLSOptions = TLSOptions(),
        retry: RetryPolicy = RetryPolicy(),
        breaker: CircuitBreaker.Configuration = CircuitBreaker.Configuration(),
        maxInFlight: Int = 32,
        healthPath: String? = nil,
        probeInterval: Duration = .seconds(5),
        probeTimeout: Duration = .seconds(1)
    ) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.tls = tls
        self.retry = retry
        self.breaker = breaker
        self.maxInFlight = max(1, maxInFlight)
        self.healthPath = healthPath
        self.probeInterval = probeInterval
        self.probeTimeout = probeTimeout
    }
}
