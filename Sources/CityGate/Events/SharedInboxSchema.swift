import PostgresClient

/// The shared inbox's tables in PostgreSQL: the SQLite inbox's columns, plus the delivery lease
/// (`lease_owner`, `lease_until`) that lets several instances share the deliveries.
enum SharedInboxSchema {
    static let migrations = PostgresMigrations(
        name: "inbox",
        [
            // 1: one row per accepted event or push; (partner, event_key) unique as in inbox.db.
            //    The two partial indexes serve the claim: pending events in due order, and the
            //    oldest pending event of an ordering key.
            """
            CREATE TABLE citygate_event (
                id BIGSERIAL PRIMARY KEY,
                partner TEXT NOT NULL,
                event_key TEXT NOT NULL,
                event_type TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                raw_request BYTEA NOT NULL,
                payload BYTEA NOT NULL,
                city TEXT,
                service TEXT,
                operation TEXT,
                ordering_key TEXT,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT,
                delivered_at BIGINT,
                kind TEXT NOT NULL DEFAULT 'event',
                lease_owner TEXT,
                lease_until BIGINT,
                UNIQUE (partner, event_key)
            );
            CREATE INDEX citygate_event_pending ON citygate_event (next_attempt_at, id) WHERE state = 'pending';
            CREATE INDEX citygate_event_pending_ordering ON citygate_event (ordering_key, id)
                WHERE state = 'pending' AND ordering_key IS NOT NULL;
            CREATE INDEX citygate_event_state ON citygate_event (state, id);
            CREATE INDEX citygate_event_delivered ON citygate_event (delivered_at) WHERE state = 'delivered';
            CREATE INDEX citygate_event_received ON citygate_event (received_at)
            """
        ])
}
