import Foundation

/// When delivery attempts are made: exponential backoff with full jitter, capped, for at most
/// `maxAttempts` attempts; then the event is a dead letter. Set in `gateway.json` `events`, and
/// per backend in `cities/<code>.json` `backends.<name>.delivery`.
///
/// Attempt n (1-based) that fails waits `random(0, min(maxDelay, initialDelay × 2^(n−1)))`, or
/// the backend's `Retry-After` when that is longer (still capped at `maxDelay`).
public struct DeliverySchedule: Sendable, Equatable {
    /// Attempts in all, the first included (default 10).
    public var maxAttempts: Int = 10
    /// The first backoff ceiling (default 1 s).
    public var initialDelayMilliseconds: Int = 1_000
    /// The largest wait between attempts (default 10 minutes).
    public var maxDelayMilliseconds: Int = 600_000

    static let fields: Set<String> = ["maxAttempts", "initialDelayMs", "maxDelayMs"]

    /// The wait after failed attempt `attempt`, or nil when it was the last.
    func delay(afterAttempt attempt: Int, retryAfterMilliseconds: Int? = nil, random: (Int) -> Int) -> Int? {
        guard attempt < maxAttempts else { return nil }
        let exponent = min(attempt - 1, 30)
        let (scaled, overflow) = initialDelayMilliseconds.multipliedReportingOverflow(by: 1 << exponent)
        let ceiling = overflow ? maxDelayMilliseconds : min(maxDelayMilliseconds, scaled)
        let jittered = random(max(0, ceiling))
        return min(maxDelayMilliseconds, max(jittered, retryAfterMilliseconds ?? 0))
    }

    /// Reads `object` over `base` (the gateway-wide schedule for a backend's override).
    static func load(_ object: [String: Any], at path: String, base: DeliverySchedule, reader: ConfigReader)
        -> DeliverySchedule
    {
        reader.checkFields(object, at: path, allowed: fields)
        var schedule = base
        schedule.maxAttempts = reader.integer(object, "maxAttempts", at: path, range: 1...100) ?? base.maxAttempts
        schedule.initialDelayMilliseconds =
            reader.integer(object, "initialDelayMs", at: path, range: 10...3_600_000) ?? base.initialDelayMilliseconds
        schedule.maxDelayMilliseconds =
            reader.integer(object, "maxDelayMs", at: path, range: 10...86_400_000) ?? base.maxDelayMilliseconds
        if schedule.maxDelayMilliseconds < schedule.initialDelayMilliseconds {
            reader.report("\(path).maxDelayMs", "must not be below initialDelayMs")
        }
        return schedule
    }
}

/// `gateway.json` `events`: the inbox and its delivery workers.
public struct EventSettings: Sendable, Equatable {
    /// The default schedule.
    public var schedule = DeliverySchedule()
    /// Deliveries in flight at once (default 32).
    public var concurrency: Int = 32
    /// The deadline of one delivery attempt (default 10 s).
    public var attemptTimeoutMilliseconds: Int = 10_000
    /// Delivered events are purged after this many hours (default 168, a week).
    public var retentionHours: Int = 168
    /// The inbox file's cap; past it, events are refused with 503 (default 1024 MiB).
    public var maxInboxMegabytes: Int = 1_024
    /// The largest event body accepted (default 256 KiB); larger is 413.
    public var maxEventBytes: Int = 256 * 1_024

    static let fields: Set<String> = DeliverySchedule.fields.union([
        "concurrency", "attemptTimeoutMs", "retentionHours", "maxInboxMegabytes", "maxEventBytes",
    ])

    static func load(_ object: [String: Any], reader: ConfigReader) -> EventSettings {
        reader.checkFields(object, at: "$.events", allowed: fields)
        var settings = EventSettings()
        let scheduleFields = object.filter { DeliverySchedule.fields.contains($0.key) }
        settings.schedule = DeliverySchedule.load(
            scheduleFields, at: "$.events", base: DeliverySchedule(), reader: reader)
        settings.concurrency = reader.integer(object, "concurrency", at: "$.events", range: 1...1_024) ?? 32
        settings.attemptTimeoutMilliseconds =
            reader.integer(object, "attemptTimeoutMs", at: "$.events", range: 100...120_000) ?? 10_000
        settings.retentionHours = reader.integer(object, "retentionHours", at: "$.events", range: 1...8_760) ?? 168
        settings.maxInboxMegabytes =
            reader.integer(object, "maxInboxMegabytes", at: "$.events", range: 1...1_048_576) ?? 1_024
        settings.maxEventBytes =
            reader.integer(object, "maxEventBytes", at: "$.events", range: 1_024...16_777_216) ?? 256 * 1_024
        return settings
    }
}
