import PostgresClient

/// Idempotency keys in PostgreSQL (`citygate_idempotency`), shared by every instance.
///
/// `begin` inserts the claim or, when a row exists, locks it (`FOR UPDATE`) before deciding:
/// two instances beginning one key at once get one `started` and one `inFlight`.
final class SharedIdempotencyStore: IdempotencyKeeping {
    static let migrations = PostgresMigrations(
        name: "calls",
        [
            """
            CREATE TABLE citygate_idempotency (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                state TEXT NOT NULL,
                status INTEGER,
                content_type TEXT,
                body BYTEA,
                started_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (scope, key)
            );
            CREATE INDEX citygate_idempotency_expiry ON citygate_idempotency (expires_at)
            """
        ])

    let pool: PostgresPool

    /// Uses `pool`; migrates the table over `setup` (at start, before any call).
    init(pool: PostgresPool, setup: PostgresConnection) throws(PostgresError) {
        try Self.migrations.apply(on: setup)
        self.pool = pool
    }

    func begin(scope: String, key: String, fingerprint: String, now: Int64, staleAfter: Int64) async throws
        -> IdempotencyStore.Begin
    {
        let expiresAt = now + IdempotencyStore.retentionSeconds
        return try await pool.run { connection throws(PostgresError) -> IdempotencyStore.Begin in
            try connection.transaction { connection throws(PostgresError) -> IdempotencyStore.Begin in
                let claimed = try connection.query(
                    """
                    INSERT INTO citygate_idempotency (scope, key, fingerprint, state, started_at, expires_at)
                    VALUES ($1, $2, $3, 'in-flight', $4, $5) ON CONFLICT (scope, key) DO NOTHING
                    """,
                    [.text(scope), .text(key), .text(fingerprint), .integer(now), .integer(expiresAt)],
                    operation: "idempotency begin")
                if claimed.affected == 1 { return .started }
                guard
                    let row = try connection.query(
                        """
                        SELECT fingerprint, state, status, content_type, body, started_at, expires_at
                        FROM citygate_idempotency WHERE scope = $1 AND key = $2 FOR UPDATE
                        """, [.text(scope), .text(key)], operation: "idempotency begin"
                    ).first
                else { return .inFlight }  // deleted between the two statements: retry shortly
                let state = row.text(1) ?? ""
                if row.integer(6) > now && !(state == "in-flight" && row.integer(5) + staleAfter <= now) {
                    guard row.text(0) == fingerprint else { return .mismatch }
                    guard state == "done" else { return .inFlight }
                    return .replay(status: Int(row.integer(2)), contentType: row.text(3) ?? "", body: row.bytes(4))
                }
                // Expired, or in flight on an instance that stopped: take it over.
                try connection.query(
                    """
                    UPDATE citygate_idempotency SET fingerprint = $3, state = 'in-flight', status = NULL,
                    content_type = NULL, body = NULL, started_at = $4, expires_at = $5 WHERE scope = $1 AND key = $2
                    """,
                    [.text(scope), .text(key), .text(fingerprint), .integer(now), .integer(expiresAt)],
                    operation: "idempotency begin")
                return .started
            }
        }
    }

    func complete(scope: String, key: String, status: Int, contentType: String, body: [UInt8], now: Int64)
        async throws
    {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                UPDATE citygate_idempotency SET state = 'done', status = $3, content_type = $4, body = $5,
                expires_at = $6 WHERE scope = $1 AND key = $2
                """,
                [
                    .text(scope), .text(key), .integer(Int64(status)), .text(contentType), .bytes(body),
                    .integer(now + IdempotencyStore.retentionSeconds),
                ], operation: "idempotency complete")
        }
    }

    func abandon(scope: String, key: String) async throws {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                "DELETE FROM citygate_idempotency WHERE scope = $1 AND key = $2 AND state = 'in-flight'",
                [.text(scope), .text(key)], operation: "idempotency abandon")
        }
    }

    /// Deletes expired outcomes; the number deleted.
    func purge(now: Int64) async throws -> Int {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                "DELETE FROM citygate_idempotency WHERE expires_at <= $1", [.integer(now)], operation: "purge"
            ).affected
        }
    }
}
