import Foundation
import HTTPClient
import HTTPCore
import Logging
import Synchronization

/// Delivers inbox events to their bound backend operations.
///
/// ```
///   loop: due events (pending, next attempt reached, oldest of each ordering key), up to the
///         concurrency limit, none already in flight
///     └─► build the request from the operation's template over the event's fields
///         + Idempotency-Key (the same on every attempt, restart and replay)
///         ─► 2xx: delivered · 5xx, 408, 429, network: retry on the schedule (Retry-After honoured)
///            · other 4xx: dead at once · last attempt failed: dead, reason kept
///            · breaker open or bulkhead full: not an attempt, looked at again in a second
/// ```
///
/// State lives in the inbox, not here: after a crash or restart, everything acknowledged and not
/// delivered is simply due again. The backend de-duplicates on the idempotency key, which makes
/// at-least-once delivery exactly-once in effect.
public final class DeliveryWorker: Sendable {
    private struct State {
        var inFlight: Set<Int64> = []
        var woken = true
        /// The loop, parked until `wake()` or the periodic scan (no polling while idle).
        var sleeper: UnsafeContinuation<Void, Never>?
        var timerPending = false
        var task: Task<Void, Never>?
        var lastPurge: Int64 = 0
    }

    /// How often due retries are looked for when nothing wakes the loop.
    static let scanInterval: Int64 = 200

    let inbox: any EventInbox
    let active: ActiveConfiguration
    private let state = Mutex(State())
    private let scanFailing = Atomic<Bool>(false)
    private let clock: @Sendable () -> Int64
    /// Sends each delivery the way partner calls are sent (headers, trace, metrics, ceiling).
    private let caller: BackendCaller
    /// Sends pushes to partners (case progress, rating outcomes).
    private let client: HTTPClient?

    init(
        inbox: any EventInbox, active: ActiveConfiguration, metrics: Metrics? = nil, client: HTTPClient? = nil,
        clock: @escaping @Sendable () -> Int64
    ) {
        self.inbox = inbox
        self.active = active
        self.clock = clock
        self.caller = BackendCaller(metrics: metrics)
        self.client = client
    }

    /// Starts the loop (at boot: pending events from before a restart are picked up at once).
    func start() {
        let task = Task { [self] in await self.run() }
        state.withLock { $0.task = task }
    }

    /// Stops the loop; deliveries in flight are cancelled and stay pending.
    func stop() {
        let task = state.withLock { state -> Task<Void, Never>? in
            defer { state.task = nil }
            return state.task
        }
        task?.cancel()
    }

    /// Tells the loop a new event is waiting.
    func wake() {
        let sleeper = state.withLock { state -> UnsafeContinuation<Void, Never>? in
            state.woken = true
            defer { state.sleeper = nil }
            return state.sleeper
        }
        sleeper?.resume()
    }

    /// Deliveries in flight now.
    var inFlightCount: Int { state.withLock { $0.inFlight.count } }

    /// Whether the loop is running.
    var isRunning: Bool { state.withLock { $0.task != nil } }

    private func run() async {
        // Discarding: a finished delivery's task is released at once (a plain task group keeps
        // every child until it is awaited, which this endless loop never does).
        await withDiscardingTaskGroup { group in
            var lastScan: Int64 = 0
            while !Task.isCancelled {
                let now = clock()
                let woken = state.withLock { state -> Bool in
                    defer { state.woken = false }
                    return state.woken
                }
                // A scan on every wake-up (a new event, a finished delivery), and at least every
                // scan interval for scheduled retries.
                if woken || now - lastScan >= Self.scanInterval {
                    lastScan = now
                    for event in await claim(now: now) {
                        group.addTask { [self] in await self.deliver(event) }
                    }
                    await purgeIfDue(now: now)
                }
                await withTaskCancellationHandler {
                    await sleep()
                } onCancel: {
                    wake()
                }
            }
            group.cancelAll()
        }
    }

    /// Parks the loop until `wake()` (a new event, a freed slot, `stop()`) or the next periodic
    /// scan. An earlier version slept 2 ms per turn: 500 wake-ups a second, a tenth of a core
    /// under load, spent looking at an empty queue.
    private func sleep() async {
        let armTimer = state.withLock { state -> Bool in
            guard !state.timerPending else { return false }
            state.timerPending = true
            return true
        }
        if armTimer {
            // At most one timer outstanding: a wake-up that comes first leaves it to fire into a
            // harmless extra scan instead of piling up a timer per turn.
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(Self.scanInterval))) {
                [self] in
                state.withLock { $0.timerPending = false }
                wake()
            }
        }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.woken || Task.isCancelled { return true }
                state.sleeper = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// How long a claimed event stays this instance's in a shared inbox: past the attempt's own
    /// time limit, with room for recording its outcome, so a lease runs out only when the
    /// instance is gone or stuck.
    static func leaseMilliseconds(attemptTimeoutMilliseconds: Int) -> Int64 {
        2 * Int64(attemptTimeoutMilliseconds) + 10_000
    }

    /// Due events not yet in flight, marked in flight.
    private func claim(now: Int64) async -> [InboxEvent] {
        let settings = active.snapshot.manifests.events
        let inFlight = inFlightCount
        let room = settings.concurrency - inFlight
        guard room > 0 else { return [] }
        let due: [InboxEvent]
        do {
            due = try await inbox.claim(
                now: now, limit: room, inFlight: inFlight,
                leaseMilliseconds: Self.leaseMilliseconds(
                    attemptTimeoutMilliseconds: settings.attemptTimeoutMilliseconds))
            if scanFailing.exchange(false, ordering: .relaxed) { Log.info("inbox scans work again") }
        } catch {
            // Logged when scans start failing, not at every scan (five a second while the
            // shared inbox's server is away).
            if !scanFailing.exchange(true, ordering: .relaxed) {
                Log.error("inbox scan failed; deliveries wait", ["code": "\(error.code)"])
            }
            return []
        }
        return state.withLock { state in
            var claimed: [InboxEvent] = []
            var orderingInFlight = Set<String>()
            for event in due where claimed.count < room && !state.inFlight.contains(event.id) {
                if let key = event.orderingKey {
                    guard !orderingInFlight.contains(key) else { continue }
                    orderingInFlight.insert(key)
                }
                state.inFlight.insert(event.id)
                claimed.append(event)
            }
            return claimed
        }
    }

    private func purgeIfDue(now: Int64) async {
        let due = state.withLock { state -> Bool in
            guard now - state.lastPurge >= 60_000 else { return false }
            state.lastPurge = now
            return true
        }
        guard due else { return }
        let retention = Int64(active.snapshot.manifests.events.retentionHours) * 3_600_000
        do { _ = try await inbox.purgeDelivered(before: now - retention) } catch {
            Log.error("inbox purge failed", ["code": "\(error.code)"])
        }
    }

    /// One attempt for one event; its outcome is written to the inbox before it leaves flight.
    func deliver(_ event: InboxEvent) async {
        let outcome = await attempt(event)
        let attempts = event.attempts + 1
        let now = clock()
        let record: Inbox.Outcome?
        switch outcome {
        case .delivered:
            record = .delivered(id: event.id, attempts: attempts, at: now)
        case .retry(let reason, let retryAfter):
            let delay = schedule(for: event).delay(afterAttempt: attempts, retryAfterMilliseconds: retryAfter) {
                Int.random(in: 0...max(0, $0))
            }
            record = .failed(
                id: event.id, attempts: attempts, reason: reason, nextAttemptAt: delay.map { now + Int64($0) })
        case .dead(let reason):
            record = .failed(id: event.id, attempts: attempts, reason: reason, nextAttemptAt: nil)
        case .deferred(let reason):
            // The gateway itself held the call back (breaker open, bulkhead full): the backend
            // was not tried, so this is no attempt; look again in a second.
            record = .failed(id: event.id, attempts: event.attempts, reason: reason, nextAttemptAt: now + 1_000)
        case .cancelled:
            record = nil
        }
        if let record, case .failure(let error) = await inbox.record(record) {
            // The outcome is lost, not the event: it is still pending and will be attempted again.
            Log.error("delivery outcome not recorded", ["event": "\(event.id)", "code": "\(error.code)"])
        }
        // A slot is free: the next due event can go now, not at the next periodic scan.
        state.withLock { state in _ = state.inFlight.remove(event.id) }
        wake()
    }

    private func schedule(for event: InboxEvent) -> DeliverySchedule {
        let manifests = active.snapshot.manifests
        let base = manifests.events.schedule
        guard event.kind == .event, let city = event.city,
            let service = event.service.flatMap({ manifests.services[$0] }),
            let override = manifests.cities[city]?.backends[service.backend]?.deliveryOverride
        else { return base }
        return override.applied(to: base)
    }

    enum Outcome: Equatable {
        case delivered
        case retry(reason: String, retryAfterMilliseconds: Int?)
        case dead(reason: String)
        case deferred(reason: String)
        case cancelled
    }

    private func attempt(_ event: InboxEvent) async -> Outcome {
        let snapshot = active.snapshot
        if event.kind == .push {
            return await PartnerPusher(
                client: client,
                attemptTimeout: .milliseconds(snapshot.manifests.events.attemptTimeoutMilliseconds)
            ).attempt(event, snapshot: snapshot, now: clock())
        }
        guard let city = event.city, let serviceId = event.service, let operationName = event.operation,
            let service = snapshot.manifests.services[serviceId], let operation = service.operations[operationName]
        else { return .retry(reason: "the binding is no longer in the manifests", retryAfterMilliseconds: nil) }
        let backendKey = ConfigurationSnapshot.backendKey(city: city, backend: service.backend)
        guard let backend = snapshot.backends[backendKey] else {
            return .retry(reason: "city \(city) has no backend \(service.backend)", retryAfterMilliseconds: nil)
        }
        let fields = (try? JSONReader.parse(event.payload, rejectDuplicateNames: false))?.objectValue ?? [:]
        let context = TemplateContext(
            input: fields,
            values: [
                "city": ["code": city], "partner": ["id": event.partnerId],
                "request": ["id": event.idempotencyKey],
                "event": ["type": event.eventType, "id": event.eventKey, "sequence": "\(event.id)"],
            ])
        let answer: ClientResponse
        do throws(BackendCaller.Failure) {
            // A delivery starts a trace of its own; the event's key is its request id, as the
            // Idempotency-Key the backend de-duplicates on.
            answer = try await caller.send(
                BackendCaller.Call(
                    template: operation.request, context: context, backend: backend,
                    backendTimeoutMilliseconds: snapshot.manifests.cities[city]?.backends[service.backend]?
                        .timeoutMilliseconds,
                    requestId: event.idempotencyKey,
                    headers: [
                        ("Idempotency-Key", event.idempotencyKey), ("X-Partner-Id", event.partnerId),
                        ("X-Event-Type", event.eventType),
                    ],
                    timeoutMilliseconds: snapshot.manifests.events.attemptTimeoutMilliseconds, idempotent: true,
                    maxAttempts: 1,
                    // The call path's rendered labels when the city offers the service for calls too.
                    durationLabels: snapshot.routes[city]?[serviceId]?.backendDurationLabels
                        ?? Metrics.labels(["backend": backendKey]),
                    credentials: (snapshot.credentials, city)))
        } catch {
            switch error {
            case .template(let detail):
                return .dead(reason: "the event's values cannot fill the operation's request (\(detail))")
            case .backend(let failure):
                if failure.isCancellation || Task.isCancelled { return .cancelled }
                if failure.isRefusal { return .deferred(reason: "backend \(service.backend): \(failure.reason)") }
                return .retry(reason: "backend \(service.backend): \(failure.reason)", retryAfterMilliseconds: nil)
            case .credentials(let detail):
                return .retry(
                    reason: "credentials for backend \(service.backend): \(detail)", retryAfterMilliseconds: nil)
            }
        }
        return .answered(answer, by: "backend \(service.backend)", what: "the event")
    }
}

extension DeliveryWorker.Outcome {
    /// What an answer means for a delivery or a push: 2xx delivered; 408, 425, 429 and 5xx tried
    /// again (after `Retry-After` when given); anything else refused for good.
    static func answered(_ answer: ClientResponse, by receiver: String, what: String) -> Self {
        switch answer.status {
        case 200..<300: return .delivered
        case 408, 425, 429, 500...599:
            let retryAfter = answer.headers["retry-after"].flatMap(Int.init).map { $0 * 1000 }
            return .retry(reason: "\(receiver) answered \(answer.status)", retryAfterMilliseconds: retryAfter)
        default:
            return .dead(reason: "\(receiver) refused \(what) with \(answer.status)")
        }
    }
}
