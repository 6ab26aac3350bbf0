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
    let pool: PostgresPool
    /// This instance's name in `lease_owner`.
    let owner: String
    private let writer: InboxCommitQueue
    private let writerReached: WriterReach

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
        self.owner = owner
        pool = PostgresPool(url: url, size: 2)
        let reach = WriterReach()
        writerReached = reach
        let connection = WriterConnection(PostgresConnection(url: url))
        writer = GroupCommitQueue(
            threadName: "citygate-shared-inbox-writer",
            commit: { batch in Self.commit(batch, now: clock(), on: connection.connection, reach: reach) },
            finish: { connection.connection.close() })
    }

    var isReachable: Bool { writerReached.value.load(ordering: .relaxed) && pool.isReachable }

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
        writer.stop()
        pool.shutdown()
    }

    func append(_ event: Inbox.NewEvent) async -> Result<Inbox.Appended, InboxError> {
        await writer.submit(.append(event))
    }

    @discardableResult
    func record(_ outcome: Inbox.Outcome) async -> Result<Void, InboxError> {
        await writer.submit(.record(outcome)).map { _ in () }
    }

    /// One batch in one transaction; a batch the server refused for another reason than the
    /// connection is retried write by write, so only the write it refused fails.
    private static func commit(
        _ batch: [InboxWrite], now: Int64, on connection: PostgresConnection, reach: WriterReach
    ) -> [Result<Inbox.Appended, InboxError>] {
        let outcome = Result { () throws(PostgresError) -> [Inbox.Appended] in
            try connection.transaction { connection throws(PostgresError) in
                try batch.map { write throws(PostgresError) in try apply(write, now: now, connection) }
            }
        }
        switch outcome {
        case .success(let results):
            reach.value.store(true, ordering: .relaxed)
            return results.map { .success($0) }
        case .failure(let error) where error.isConnectionFailure || batch.count == 1:
            reach.value.store(!error.isConnectionFailure, ordering: .relaxed)
            return batch.map { _ in .failure(InboxError(error)) }
        case .failure:
            return batch.map { write in
                Result { () throws(PostgresError) -> Inbox.Appended in
                    try connection.transaction { connection throws(PostgresError) in
                        try apply(write, now: now, connection)
                    }
                }.mapError(InboxError.init)
            }
        }
    }

    private static func apply(_ entry: InboxWrite, now: Int64, _ connection: PostgresConnection)
        throws(PostgresError) -> Inbox.Appended
    {
        switch entry {
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

/// Whether the writer's last commit reached the server (for `/readyz`).
private final class WriterReach: Sendable {
    let value = Atomic<Bool>(true)
}

/// A writer thread's own connection (the shared inbox's, the shared audit trail's).
final class WriterConnection: @unchecked Sendable {
    // @unchecked: used only on the writer thread (commits, then the close when it stops).
    let connection: PostgresConnection
    init(_ connection: PostgresConnection) { self.connection = connection }
}
