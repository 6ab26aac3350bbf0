import Foundation

/// When and how long to wait before retrying an idempotent call.
///
/// Retried: connect refused, timeouts and resets (the request may not have been processed, and
/// the operation is idempotent anyway), and 502, 503, 504. Never retried: non-idempotent
/// operations, any other status, TLS, DNS and size errors. The wait is exponential backoff with
/// full jitter — uniform in [0, min(cap, base · 2^attempt)] — unless the backend sent
/// `Retry-After`, which is honoured; a retry that could not finish before the deadline is not made.
public struct RetryPolicy: Sendable, Hashable {
    /// Most attempts in all (1 means no retry). Default 3.
    public var maxAttempts: Int
    /// The first backoff ceiling. Default 100 ms.
    public var baseDelay: Duration
    /// The largest backoff ceiling. Default 2 s.
    public var maxDelay: Duration

    /// Creates a policy; every argument defaults to the documented value.
    public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(2)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Whether a failed attempt may be retried.
    public static func isRetryable(_ error: CurlError) -> Bool {
        [.connectRefused, .timeout, .reset].contains(error.kind)
    }

    /// Whether a response status may be retried.
    public static func isRetryable(status: Int) -> Bool {
        status == 502 || status == 503 || status == 504
    }

    /// The backoff before retry number `attempt` (0 for the first retry), with full jitter.
    public func backoff(attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let exponent = min(attempt, 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        return ceiling * random
    }

    /// The wait a `Retry-After` value asks for: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
    public static func retryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(trimmed), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: trimmed) else { return nil }
        let seconds = max(0, date.timeIntervalSince(now))
        return .milliseconds(Int(seconds * 1000))
    }
}
