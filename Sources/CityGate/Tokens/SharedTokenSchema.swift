import PostgresClient

/// Token state in PostgreSQL, shared by every instance: refresh tokens, revocations, the
/// identity vault and delegations (the gateway.db tables, one per concern).
enum SharedTokenSchema {
    static let migrations = PostgresMigrations(
        name: "tokens",
        [
            // 1: `revoked_at` is the database's clock (milliseconds), so every instance reads
            //    revocations since a moment of one clock, not of its own.
            """
            CREATE TABLE citygate_refresh_token (
                hash TEXT PRIMARY KEY,
                family TEXT NOT NULL,
                client_id TEXT NOT NULL,
                grant_json TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT
            );
            CREATE INDEX citygate_refresh_token_expiry ON citygate_refresh_token (expires_at);
            CREATE TABLE citygate_revocation (
                kind TEXT NOT NULL,
                id TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                revoked_at BIGINT NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
                PRIMARY KEY (kind, id)
            );
            CREATE INDEX citygate_revocation_recent ON citygate_revocation (revoked_at);
            CREATE TABLE citygate_identity (
                subject TEXT PRIMARY KEY,
                sealed BYTEA NOT NULL,
                expires_at BIGINT NOT NULL
            );
            CREATE TABLE citygate_delegation (
                id TEXT PRIMARY KEY,
                partner TEXT NOT NULL,
                agent TEXT NOT NULL,
                citizen TEXT NOT NULL,
                services TEXT NOT NULL,
                not_before BIGINT NOT NULL,
                not_after BIGINT NOT NULL,
                revoked_at BIGINT,
                created_at BIGINT NOT NULL
            );
            CREATE INDEX citygate_delegation_lookup ON citygate_delegation (partner, agent, citizen)
            """
        ])
}
