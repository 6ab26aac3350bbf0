import Foundation
import Store
import Synchronization

/// The durable inbox of partner events, with group commit (``GroupCommitQueue``).
///
/// ```
///   handler ─ append(event) ─► queue ─┐
///   handler ─ append(event) ─► queue ─┼─► writer thread: BEGIN; INSERT … ON CONFLICT DO NOTHING ×N; COMMIT (one fsync)
///   handler ─ append(event) ─► queue ─┘        └─► resume every waiter: stored / duplicate / failed
///   handler ◄─ only then acknowledges the partner
/// ```
///
/// `synchronous=FULL` makes every commit an fsync; batching every append that arrives while
/// one commit runs into the next keeps the rate high without weakening the guarantee: no waiter
/// is resumed before the commit that holds its event returned.
public final class Inbox: EventInbox {
    /// A new event to store.
    struct NewEvent: Sendable {
        var partnerId: String
        var eventKey: String
        var eventType: String
        var rawRequest: [UInt8]
        var payload: [UInt8]
        var city: String?
        var service: String?
        var operation: String?
        var orderingKey: String?
        var kind: InboxEvent.Kind = .event
    }

    /// What an append did.
    enum Appended: Sendable, Equatable {
        /// Stored now.
        case stored(id: Int64)
        /// Already in the inbox (a retry or a concurrent duplicate): acknowledge, do not store.
        case duplicate(id: Int64)
    }

    /// A delivery outcome to record.
    enum Outcome: Sendable, Equatable {
        /// The backend accepted the event.
        case delivered(id: Int64, attempts: Int, at: Int64)
        /// Pending again at `nextAttemptAt`, or dead when nil.
        case failed(id: Int64, attempts: Int, reason: String, nextAttemptAt: Int64?)
    }

    let database: Database
    private let writer: InboxCommitQueue

    /// Opens (creating) `path` with FULL durability; `maxBytes` caps the file (appends then fail
    /// with SQLITE_FULL and the partner is told to retry rather than told "accepted").
    public init(
        path: String, maxBytes: Int64? = nil,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws(SQLiteError) {
        database = try Database(path: path, durability: .full)
        try InboxSchema.migrations.apply(to: database)
        if let maxBytes {
            let pageSize = try database.withConnection { session throws(SQLiteError) in
                try session.query("PRAGMA page_size") { $0.integer(0) }.first ?? 4096
            }
            try database.execute("PRAGMA max_page_count = \(max(16, maxBytes / max(512, pageSize)))")
        }
        writer = GroupCommitQueue(threadName: "citygate-inbox-writer") { [database] batch in
            Self.commit(batch, now: clock(), database)
        }
    }

    /// Stops the writer after the appends already queued.
    public func stop() { writer.stop() }

    /// Stores `event` durably, or finds it already stored. Returns only after the commit.
    func append(_ event: NewEvent) async -> Result<Appended, InboxError> {
        await writer.submit(.append(event))
    }

    /// Records a delivery outcome, in the same group commits as the appends (an fsync per
    /// outcome would cap delivery at the disk's fsync rate). Returns after the commit.
    @discardableResult
    func record(_ outcome: Outcome) async -> Result<Void, InboxError> {
        await writer.submit(.record(outcome)).map { _ in () }
    }

    /// A local file: reachable while it opens (a full disk is an append's failure, not this).
    var isReachable: Bool { true }

    /// One batch in one FULL transaction: all committed, or all failed with its error.
    private static func commit(_ batch: [InboxWrite], now: Int64, _ database: Database) -> [Result<
        Appended, InboxError
    >] {
        let outcome = Result { () throws(SQLiteError) -> [Appended] in
            try database.transaction { session throws(SQLiteError) -> [Appended] in
                var results: [Appended] = []
                results.reserveCapacity(batch.count)
                for write in batch {
                    switch write {
                    case .append(let event): results.append(try insert(event, now: now, session))
                    case .record(let outcome):
                        try Self.write(outcome, session)
                        results.append(.stored(id: 0))
                    }
                }
                return results
            }
        }
        switch outcome {
        case .success(let results): return results.map { .success($0) }
        case .failure(let error): return batch.map { _ in .failure(InboxError(error)) }
        }
    }

    private static func insert(_ event: NewEvent, now: Int64, _ session: Session) throws(SQLiteError) -> Appended {
        let state: InboxEvent.State = event.operation == nil && event.kind == .event ? .unbound : .pending
        let changed = try session.run(
            """
            INSERT INTO event (partner, event_key, event_type, received_at, raw_request, payload, city,
            service, operation, ordering_key, state, next_attempt_at, kind)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?4, ?12)
            ON CONFLICT (partner, event_key) DO NOTHING
            """,
            [
                .text(event.partnerId), .text(event.eventKey), .text(event.eventType), .integer(now),
                .blob(event.rawRequest), .blob(event.payload), Self.optional(event.city),
                Self.optional(event.service), Self.optional(event.operation),
                Self.optional(event.orderingKey), .text(state.rawValue), .text(event.kind.rawValue),
            ])
        let id =
            try session.query(
                "SELECT id FROM event WHERE partner = ?1 AND event_key = ?2",
                [.text(event.partnerId), .text(event.eventKey)]
            ) { $0.integer(0) }.first ?? 0
        return changed == 1 ? .stored(id: id) : .duplicate(id: id)
    }

    static func optional(_ text: String?) -> SQLValue { text.map { .text($0) } ?? .null }
}
