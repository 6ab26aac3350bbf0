import Store

/// The first outcome of each `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header), kept
/// 24 hours in `gateway.db`: a retried application is answered from here instead of reaching the
/// backend twice. Keys are scoped by partner and citizen, so one citizen's key can never return
/// another's answer.
///
/// ```
///  begin(scope, key, fingerprint) ─► none, expired, or an abandoned in-flight row ─► started
///                                 ├► same fingerprint, answered                   ─► replay
///                                 ├► same fingerprint, in flight                  ─► inFlight (409)
///                                 └► another fingerprint                          ─► mismatch (422)
///  complete(...) stores the answer; abandon(...) forgets a call that never reached the backend
/// ```
final class IdempotencyStore: Sendable {
    /// What `begin` found.
    enum Begin: Equatable {
        /// The first time (or the first since the last one expired): go ahead.
        case started
        /// Answered before: this is the answer.
        case replay(status: Int, contentType: String, body: [UInt8])
        /// The first is still running.
        case inFlight
        /// The key was used with another request.
        case mismatch
    }

    /// How long an outcome is kept.
    static let retentionSeconds: Int64 = 24 * 3600

    private let database: Database

    /// Uses `database`, migrated to the gateway schema.
    init(database: Database) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
    }

    /// Claims `key` for a call, or says why not. An in-flight row older than `staleAfter` seconds
    /// is taken over (its gateway stopped before finishing).
    func begin(scope: String, key: String, fingerprint: String, now: Int64, staleAfter: Int64) throws(SQLiteError)
        -> Begin
    {
        try database.transaction { session throws(SQLiteError) -> Begin in
            let rows = try session.query(
                """
                SELECT fingerprint, state, status, content_type, body, started_at, expires_at
                FROM idempotency WHERE scope = ?1 AND key = ?2
                """, [.text(scope), .text(key)]
            ) { row in
                (
                    fingerprint: row.text(0) ?? "", state: row.text(1) ?? "", status: Int(row.integer(2)),
                    contentType: row.text(3) ?? "", body: row.blob(4), startedAt: row.integer(5),
                    expiresAt: row.integer(6)
                )
            }
            if let row = rows.first, row.expiresAt > now,
                !(row.state == "in-flight" && row.startedAt + staleAfter <= now)
            {
                guard row.fingerprint == fingerprint else { return .mismatch }
                guard row.state == "done" else { return .inFlight }
                return .replay(status: row.status, contentType: row.contentType, body: row.body)
            }
            _ = try session.run(
                """
                INSERT OR REPLACE INTO idempotency (scope, key, fingerprint, state, started_at, expires_at)
                VALUES (?1, ?2, ?3, 'in-flight', ?4, ?5)
                """,
                [.text(scope), .text(key), .text(fingerprint), .integer(now), .integer(now + Self.retentionSeconds)])
            return .started
        }
    }

    /// Stores the answer of a call that `begin` started.
    func complete(scope: String, key: String, status: Int, contentType: String, body: [UInt8], now: Int64)
        throws(SQLiteError)
    {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                """
                UPDATE idempotency SET state = 'done', status = ?3, content_type = ?4, body = ?5, expires_at = ?6
                WHERE scope = ?1 AND key = ?2
                """,
                [
                    .text(scope), .text(key), .integer(Int64(status)), .text(contentType), .blob(body),
                    .integer(now + Self.retentionSeconds),
                ])
        }
    }

    /// Forgets a started call whose outcome is not to be replayed (it never reached the backend,
    /// or its outcome is unknown), so a retry runs again.
    func abandon(scope: String, key: String) throws(SQLiteError) {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                "DELETE FROM idempotency WHERE scope = ?1 AND key = ?2 AND state = 'in-flight'",
                [.text(scope), .text(key)])
        }
    }

    /// Deletes expired outcomes (housekeeping); the number deleted.
    @discardableResult
    func purge(now: Int64) throws(SQLiteError) -> Int {
        try database.withConnection { session throws(SQLiteError) in
            try session.run("DELETE FROM idempotency WHERE expires_at <= ?1", [.integer(now)])
        }
    }
}
