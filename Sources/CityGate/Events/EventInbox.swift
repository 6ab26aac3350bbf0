/// Where accepted events and partner pushes wait for delivery.
///
/// Two stores keep the same promises — nothing is acknowledged before it is committed, a
/// partner's retry of a stored event is a duplicate, every event is delivered under one
/// Idempotency-Key — for different deployments:
///
/// | store | for | delivery claims |
/// |---|---|---|
/// | ``Inbox`` (`inbox.db`, SQLite, the default) | one instance | in memory: the one worker knows what it is sending |
/// | ``SharedInbox`` (PostgreSQL, `gateway.json` `state.postgres`) | several instances | leases in the table (`FOR UPDATE SKIP LOCKED`): a dead instance's deliveries are taken over when its leases run out |
protocol EventInbox: Sendable {
    /// Stores `event` durably, or finds it already stored. Returns only after the commit.
    func append(_ event: Inbox.NewEvent) async -> Result<Inbox.Appended, InboxError>

    /// Records a delivery outcome (and ends this instance's claim on the event).
    @discardableResult
    func record(_ outcome: Inbox.Outcome) async -> Result<Void, InboxError>

    /// Due events for this instance's delivery worker: pending, next attempt reached, the oldest
    /// of each ordering key, at most `limit` new ones. `inFlight` is how many the worker is
    /// sending now (a store without leases returns those again, and the worker skips them);
    /// a store with leases holds each claimed event for `leaseMilliseconds`.
    func claim(now: Int64, limit: Int, inFlight: Int, leaseMilliseconds: Int64) async throws(InboxError)
        -> [InboxEvent]

    /// Events in `state`, newest first.
    func list(state: InboxEvent.State?, limit: Int) async throws(InboxError) -> [InboxEvent]

    /// One event.
    func find(_ id: Int64) async throws(InboxError) -> InboxEvent?

    /// Puts dead letters back in the queue (attempts start again); returns how many. `ids` nil:
    /// every dead event received in `from..<to` (Unix milliseconds).
    func replay(ids: [Int64]?, from: Int64, to: Int64, now: Int64) async throws(InboxError) -> Int

    /// Deletes delivered events older than `before` (Unix milliseconds); returns how many.
    func purgeDelivered(before: Int64) async throws(InboxError) -> Int

    /// Counts per state and the oldest pending event's receipt time.
    func statistics() async throws(InboxError) -> Inbox.Statistics

    /// Whether the store answered its last call (for `/readyz`).
    var isReachable: Bool { get }

    /// Stops the writer after the appends already queued.
    func stop()
}

extension EventInbox {
    /// Every dead event with these ids.
    func replay(ids: [Int64], now: Int64) async throws(InboxError) -> Int {
        try await replay(ids: ids, from: 0, to: .max, now: now)
    }
}
