import Store

extension Inbox {
    static let columns = """
        id, partner, event_key, event_type, received_at, raw_request, payload, city, service, operation,
        ordering_key, state, attempts, next_attempt_at, last_error, delivered_at, kind
        """

    static func event(_ row: Row) -> InboxEvent {
        InboxEvent(
            id: row.integer(0), partnerId: row.text(1) ?? "", eventKey: row.text(2) ?? "", eventType: row.text(3) ?? "",
            receivedAt: row.integer(4), rawRequest: row.blob(5), payload: row.blob(6), city: row.text(7),
            service: row.text(8), operation: row.text(9), orderingKey: row.text(10),
            state: InboxEvent.State(rawValue: row.text(11) ?? "") ?? .pending, attempts: Int(row.integer(12)),
            nextAttemptAt: row.integer(13), lastError: row.text(14),
            deliveredAt: row.text(15) == nil ? nil : row.integer(15),
            kind: InboxEvent.Kind(rawValue: row.text(16) ?? "") ?? .event)
    }

    /// Runs `body` on a connection, its failure as an ``InboxError``.
    private func reading<T>(_ body: (Session) throws(SQLiteError) -> T) throws(InboxError) -> T {
        do { return try database.withConnection(body) } catch { throw InboxError(error) }
    }

    /// The due events, the in-flight ones among them (one worker: no leases needed).
    func claim(now: Int64, limit: Int, inFlight: Int, leaseMilliseconds: Int64) throws(InboxError) -> [InboxEvent] {
        do { return try due(now: now, limit: limit + inFlight) } catch { throw InboxError(error) }
    }

    /// Pending events due at `now`, oldest first; of an ordering key only the oldest pending one.
    func due(now: Int64, limit: Int) throws(SQLiteError) -> [InboxEvent] {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                """
                SELECT \(Self.columns) FROM event AS e WHERE state = 'pending' AND next_attempt_at <= ?1
                AND (ordering_key IS NULL OR id = (SELECT MIN(id) FROM event WHERE ordering_key = e.ordering_key
                AND state = 'pending'))
                ORDER BY next_attempt_at, id LIMIT ?2
                """,
                [.integer(now), .integer(Int64(limit))], row: Self.event)
        }
    }

    static func write(_ outcome: Outcome, _ session: Session) throws(SQLiteError) {
        switch outcome {
        case .delivered(let id, let attempts, let now):
            try session.run(
                "UPDATE event SET state = 'delivered', attempts = ?2, delivered_at = ?3, last_error = NULL WHERE id = ?1",
                [.integer(id), .integer(Int64(attempts)), .integer(now)])
        case .failed(let id, let attempts, let reason, let nextAttemptAt):
            try session.run(
                "UPDATE event SET state = ?2, attempts = ?3, last_error = ?4, next_attempt_at = ?5 WHERE id = ?1",
                [
                    .integer(id), .text(nextAttemptAt == nil ? "dead" : "pending"), .integer(Int64(attempts)),
                    .text(reason), .integer(nextAttemptAt ?? 0),
                ])
        }
    }

    /// Events in `state`, newest first.
    func list(state: InboxEvent.State?, limit: Int) throws(InboxError) -> [InboxEvent] {
        try reading { session throws(SQLiteError) in
            try session.query(
                "SELECT \(Self.columns) FROM event WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2",
                [Self.optional(state?.rawValue), .integer(Int64(limit))], row: Self.event)
        }
    }

    /// One event.
    func find(_ id: Int64) throws(InboxError) -> InboxEvent? {
        try reading { session throws(SQLiteError) in
            try session.query("SELECT \(Self.columns) FROM event WHERE id = ?1", [.integer(id)], row: Self.event).first
        }
    }

    /// Puts dead letters back in the queue (attempts start again); returns how many. `ids` nil:
    /// every dead event received in `from..<to` (Unix milliseconds).
    func replay(ids: [Int64]?, from: Int64 = 0, to: Int64 = .max, now: Int64) throws(InboxError) -> Int {
        do { return try replayRows(ids: ids, from: from, to: to, now: now) } catch { throw InboxError(error) }
    }

    private func replayRows(ids: [Int64]?, from: Int64, to: Int64, now: Int64) throws(SQLiteError) -> Int {
        try database.transaction { session throws(SQLiteError) in
            if let ids {
                var count = 0
                for id in ids {
                    count += try session.run(
                        """
                        UPDATE event SET state = 'pending', attempts = 0, next_attempt_at = ?2, last_error = NULL
                        WHERE id = ?1 AND state = 'dead'
                        """, [.integer(id), .integer(now)])
                }
                return count
            }
            return try session.run(
                """
                UPDATE event SET state = 'pending', attempts = 0, next_attempt_at = ?3, last_error = NULL
                WHERE state = 'dead' AND received_at >= ?1 AND received_at < ?2
                """, [.integer(from), .integer(to), .integer(now)])
        }
    }

    /// Deletes delivered events older than `before` (Unix milliseconds); returns how many.
    func purgeDelivered(before: Int64) throws(InboxError) -> Int {
        try reading { session throws(SQLiteError) in
            try session.run(
                "DELETE FROM event WHERE state = 'delivered' AND delivered_at < ?1", [.integer(before)])
        }
    }

    /// Counts per state and the oldest pending event's receipt time.
    struct Statistics: Sendable, Equatable {
        var counts: [InboxEvent.State: Int]
        var oldestPendingReceivedAt: Int64?
    }

    func statistics() throws(InboxError) -> Statistics {
        try reading { session throws(SQLiteError) in
            var counts: [InboxEvent.State: Int] = [:]
            for state in InboxEvent.State.allCases { counts[state] = 0 }
            for (state, count) in try session.query(
                "SELECT state, COUNT(*) FROM event GROUP BY state",
                row: {
                    (InboxEvent.State(rawValue: $0.text(0) ?? ""), Int($0.integer(1)))
                })
            {
                if let state { counts[state] = count }
            }
            let oldest =
                try session.query("SELECT MIN(received_at) FROM event WHERE state = 'pending'") { row in
                    row.text(0) == nil ? nil : row.integer(0)
                }.first ?? nil
            return Statistics(counts: counts, oldestPendingReceivedAt: oldest)
        }
    }
}
