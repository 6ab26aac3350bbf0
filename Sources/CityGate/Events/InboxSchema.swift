import Store

/// The durable inbox's own SQLite file (`inbox.db`, `synchronous=FULL`): kept apart from the
/// gateway store, whose replay records run at `NORMAL`, because an acknowledged event must
/// survive power loss.
enum InboxSchema {
    static let migrations = Migrations([
        // 1: one row per accepted event. (partner, event_key) is unique: a partner's retry of an
        //    event already here is acknowledged again and never stored or delivered twice.
        """
        CREATE TABLE event (
            id INTEGER PRIMARY KEY,
            partner TEXT NOT NULL,
            event_key TEXT NOT NULL,
            event_type TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            raw_request BLOB NOT NULL,
            payload BLOB NOT NULL,
            city TEXT,
            service TEXT,
            operation TEXT,
            ordering_key TEXT,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            delivered_at INTEGER,
            UNIQUE (partner, event_key)
        );
        CREATE INDEX event_due ON event (state, next_attempt_at);
        CREATE INDEX event_ordering ON event (ordering_key, id) WHERE ordering_key IS NOT NULL;
        CREATE INDEX event_received ON event (received_at)
        """,
        // 2: pushes to partners (case progress, rating outcomes) share the inbox's durability,
        //    retries, dead letters and replay; `kind` tells them from partner events.
        """
        ALTER TABLE event ADD COLUMN kind TEXT NOT NULL DEFAULT 'event'
        """,
    ])
}
