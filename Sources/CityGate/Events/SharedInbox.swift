import Dispatch
import Foundation
import PostgresClient
import Synchronization

/// The event inbox on PostgreSQL, shared by every instance (`gateway.json` `state.postgres`).
///
/// ```
///   handler ─ append ─► queue ─┐
///   handler ─ append ─► queue ─┼─► writer thread: BEGIN; INSERT … ON CONFLICT DO NOTHING ×N; COMMIT
///   worker ─ record ──► queue ─┘        └─► resume every waiter only after COMMIT answered
///
///   worker ─ claim ─► UPDATE … SET lease_owner = me, lease_until = now + lease
///                     WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)  ─► deliver ─► record (lease ends)
/// ```
///
/// Group commit as in ``Inbox``: appends that arrive while one commit runs go into the next, one
/// WAL flush for the batch. A batch that fails for a reason other than the connection (one
/// event the server refuses) is retried event by event, so one bad event fails alone.
///
/// Delivery claims are leases: an instance that dies holding some leaves them to the others
/// once `lease_until` passes; an instance restarting under the same data directory (same
/// `owner`) releases its old leases at start.
final class SharedInbox: EventInbox {
    private enum Work: Sendable {
        case append(Inbox.NewEvent)
        case record(Inbox.Outcome)
    }

    private struct Waiting: Sendable {
        let work: Work
        let continuation: CheckedContinuation<Result<Inbox.Appended, InboxError>, Never>
    }

    private struct Queue {
        var waiting: [Waiting] = []
        var stopped = false
    }

    let pool: PostgresPool
    /// This instance's name in `lease_owner`.
    let owner: String
    private let url: String
    private let queue = Mutex(Queue())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let writerReached = Atomic<Bool>(true)
    private let clock: @Sendable () -> Int64

    /// Migrates the schema (throws when the server cannot be reached at start), releases the
    /// leases `owner` held before a restart and starts the writer.
    init(
        url: String, owner: String,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws(PostgresError) {
        let setup = PostgresConnection(url: url)
        try SharedInboxSchema.migrations.apply(on: setup)
        try setup.query(
            "UPDATE citygate_event SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1", [.text(owner)])
        setup.close()
        self.url = url
        self.owner = owner
        self.clock = clock
        pool = PostgresPool(url: url, size: 2)
        let thread = Thread { [self] in self.writeLoop() }
        thread.name = "citygate-shared-inbox-writer"
        thread.start()
    }

    var isReachable: Bool { writerReached.load(ordering: .relaxed) && pool.isReachable }

    /// Asks the server (`SELECT 1`) for `/readyz`: false when it does not answer within a
    /// second (a load balancer's health check must not hang on a server that stopped answering;
    /// the query itself is bounded by the statement timeout and finishes on its pool thread).
    func probe() async -> Bool {
        // Not a task group: it would wait for the query it gave up on.
        let answered = FirstAnswer()
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer: @Sendable (Bool) -> Void = { value in
                if answered.claim() { continuation.resume(returning: value) }
            }
            Task { [pool] in
                answer(
                    (try? await pool.run { connection throws(PostgresError) in try connection.query("SELECT 1") })
                        != nil)
            }
            Task {
                try? await Task.sleep(for: .seconds(1))
                answer(false)
            }
        }
    }

    func stop() {
        queue.withLock { $0.stopped = true }
        wakeUp.signal()
        pool.shutdown()
    }

    func append(_ event: Inbox.NewEvent) async -> Result<Inbox.Appended, InboxError> {
        await submit(.append(event))
    }

    @discardableResult
    func record(_ outcome: Inbox.Outcome) async -> Result<Void, InboxError> {
        await submit(.record(outcome)).map { _ in () }
    }

    private func submit(_ work: Work) async -> Result<Inbox.Appended, InboxError> {
        await withCheckedContinuation { continuation in
            let accepted = queue.withLock { queue -> Bool in
                guard !queue.stopped else { return false }
                queue.waiting.append(Waiting(work: work, continuation: continuation))
                return true
            }
            if accepted {
                wakeUp.signal()
            } else {
                continuation.resume(returning: .failure(InboxError(code: "stopping", message: "the inbox is stopping")))
            }
        }
    }

    private func writeLoop() {
        let connection = PostgresConnection(url: url)
        while true {
            wakeUp.wait()
            let (batch, stopped) = queue.withLock { queue -> ([Waiting], Bool) in
                let batch = queue.waiting
                queue.waiting.removeAll(keepingCapacity: true)
                return (batch, queue.stopped)
            }
            if !batch.isEmpty { commit(batch, on: connection) }
            if stopped {
                connection.close()
                return
            }
        }
    }

    private func commit(_ batch: [Waiting], on connection: PostgresConnection) {
        let now = clock()
        let outcome = Result { () throws(PostgresError) -> [Inbox.Appended] in
            try connection.transaction { connection throws(PostgresError) in
                try batch.map { waiting throws(PostgresError) in try Self.apply(waiting.work, now: now, connection) }
            }
        }
        switch outcome {
        case .success(let results):
            writerReached.store(true, ordering: .relaxed)
            for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: .success(result)) }
        case .failure(let error) where error.isConnectionFailure || batch.count == 1:
            writerReached.store(!error.isConnectionFailure, ordering: .relaxed)
            for waiting in batch { waiting.continuation.resume(returning: .failure(InboxError(error))) }
        case .failure:
            // The server refused something in the batch: each on its own, so only that one fails.
            for waiting in batch {
                let single = Result { () throws(PostgresError) -> Inbox.Appended in
                    try connection.transaction { connection throws(PostgresError) in
                        try Self.apply(waiting.work, now: now, connection)
                    }
                }
                waiting.continuation.resume(returning: single.mapError(InboxError.init))
            }
        }
    }

    private static func apply(_ work: Work, now: Int64, _ connection: PostgresConnection) throws(PostgresError)
        -> Inbox.Appended
    {
        switch work {
        case .append(let event): return try insert(event, now: now, connection)
        case .record(let outcome):
            try write(outcome, connection)
            return .stored(id: 0)
        }
    }

    private static func insert(_ event: Inbox.NewEvent, now: Int64, _ connection: PostgresConnection)
        throws(PostgresError) -> Inbox.Appended
    {
        let state: InboxEvent.State = event.operation == nil && event.kind == .event ? .unbound : .pending
        let inserted = try connection.query(
            """
            INSERT INTO citygate_event (partner, event_key, event_type, received_at, raw_request, payload, city,
            service, operation, ordering_key, state, next_attempt_at, kind)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $4, $12)
            ON CONFLICT (partner, event_key) DO NOTHING RETURNING id
            """,
            [
                .text(event.partnerId), .text(event.eventKey), .text(event.eventType), .integer(now),
                .bytes(event.rawRequest), .bytes(event.payload), .optional(event.city), .optional(event.service),
                .optional(event.operation), .optional(event.orderingKey), .text(state.rawValue),
                .text(event.kind.rawValue),
            ], operation: "append")
        if let row = inserted.first { return .stored(id: row.integer(0)) }
        // Already stored (by this instance or another, committed before this statement began).
        let existing = try connection.query(
            "SELECT id FROM citygate_event WHERE partner = $1 AND event_key = $2",
            [.text(event.partnerId), .text(event.eventKey)], operation: "append")
        return .duplicate(id: existing.first?.integer(0) ?? 0)
    }

    private static func write(_ outcome: Inbox.Outcome, _ connection: PostgresConnection) throws(PostgresError) {
        switch outcome {
        case .delivered(let id, let attempts, let now):
            try connection.query(
                """
                UPDATE citygate_event SET state = 'delivered', attempts = $2, delivered_at = $3, last_error = NULL,
                lease_owner = NULL, lease_until = NULL WHERE id = $1
                """, [.integer(id), .integer(Int64(attempts)), .integer(now)], operation: "record")
        case .failed(let id, let attempts, let reason, let nextAttemptAt):
            try connection.query(
                """
                UPDATE citygate_event SET state = $2, attempts = $3, last_error = $4, next_attempt_at = $5,
                lease_owner = NULL, lease_until = NULL WHERE id = $1
                """,
                [
                    .integer(id), .text(nextAttemptAt == nil ? "dead" : "pending"), .integer(Int64(attempts)),
                    .text(reason), .integer(nextAttemptAt ?? 0),
                ], operation: "record")
        }
    }
}

/// Lets exactly one of several racers resume a continuation.
private final class FirstAnswer: Sendable {
    private let taken = Atomic<Bool>(false)

    /// True for the first caller only.
    func claim() -> Bool { !taken.exchange(true, ordering: .acquiringAndReleasing) }
}
