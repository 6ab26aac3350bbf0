import Store

/// The gateway's SQLite schema, one migration step per version (append-only).
public enum GatewaySchema {
    /// Every version in order.
    public static let migrations = Migrations([
        // 1: replay protection. One row per (partner scope, nonce or message id), kept until the
        //    timestamp window (plus margin) has passed.
        """
        CREATE TABLE replay (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        CREATE INDEX replay_expiry ON replay (expires_at)
        """,
        // 2: OAuth. Refresh tokens are stored as SHA-256 hashes (a leaked database holds no usable
        //    token); a family is one chain of rotations. Revocations list access-token ids and whole
        //    families until they would have expired anyway. Delegations let an agent station act
        //    for a citizen (identities as salted hashes). The audit trail records citizen-bound calls.
        """
        CREATE TABLE refresh_token (
            hash TEXT PRIMARY KEY,
            family TEXT NOT NULL,
            client_id TEXT NOT NULL,
            grant_json TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX refresh_family ON refresh_token (family);
        CREATE TABLE revocation (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (kind, id)
        ) WITHOUT ROWID;
        CREATE TABLE delegation (
            id TEXT PRIMARY KEY,
            partner TEXT NOT NULL,
            agent TEXT NOT NULL,
            citizen TEXT NOT NULL,
            services TEXT NOT NULL,
            not_before INTEGER NOT NULL,
            not_after INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX delegation_pair ON delegation (partner, agent, citizen);
        CREATE TABLE audit (
            request_id TEXT PRIMARY KEY,
            at INTEGER NOT NULL,
            city TEXT NOT NULL,
            service TEXT NOT NULL,
            operation TEXT NOT NULL,
            partner TEXT NOT NULL,
            client_id TEXT NOT NULL,
            subject TEXT NOT NULL,
            agent TEXT,
            delegation TEXT,
            status INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX audit_at ON audit (at)
        """,
        // 3: the identity vault. Only for services that declare "identity": "raw": the citizen's
        //    partner-side id, AES-256-GCM sealed under a key derived from the subject salt, keyed
        //    by the pseudonym, kept as long as a refresh family could last.
        """
        CREATE TABLE identity (
            subject TEXT PRIMARY KEY,
            sealed BLOB NOT NULL,
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
        // 4: the replay log. Short-window replay records are decided in memory (ReplayWindow)
        //    and appended here, in arrival order, to be read back at start; `replay` keeps the
        //    long-lived ones and any past the window's capacity.
        """
        CREATE TABLE replay_log (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX replay_log_expiry ON replay_log (expires_at)
        """,
        // 5: why an audited call was refused (the problem slug, e.g. subject-mismatch); NULL
        //    for calls that reached the backend.
        """
        ALTER TABLE audit ADD COLUMN outcome TEXT
        """,
        // 6: idempotency keys. The first outcome of a partner's `Idempotency-Key` on a
        //    non-idempotent operation, per partner and citizen (`scope`), replayed for 24 hours;
        //    `fingerprint` is the SHA-256 of the operation and body it was first used with.
        """
        CREATE TABLE idempotency (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            state TEXT NOT NULL,
            status INTEGER,
            content_type TEXT,
            body BLOB,
            started_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        CREATE INDEX idempotency_expiry ON idempotency (expires_at)
        """,
        // 7: the tamper-evident audit chain (AuditChain): every audited event, each with the
        //    hash of the one before, and seals (Ed25519 signatures of the chain's head).
        """
        CREATE TABLE audit_chain (
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL,
            content TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TABLE audit_seal (
            seq INTEGER PRIMARY KEY,
            hash TEXT NOT NULL,
            signature TEXT NOT NULL,
            key_id TEXT NOT NULL,
            at INTEGER NOT NULL
        )
        """,
        // 8: cases opened through the gateway (the case lifecycle): who applied (the subject
        //    hash), through which partner, when, and the deadlines counted in the city's working
        //    days when the case was received.
        """
        CREATE TABLE gateway_case (
            city TEXT NOT NULL,
            number TEXT NOT NULL,
            service TEXT NOT NULL,
            department TEXT NOT NULL,
            subject TEXT NOT NULL,
            partner TEXT NOT NULL,
            request_id TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            counts_from TEXT NOT NULL,
            promised_by TEXT NOT NULL,
            legal_by TEXT NOT NULL,
            PRIMARY KEY (city, number)
        ) WITHOUT ROWID;
        CREATE INDEX gateway_case_due ON gateway_case (legal_by)
        """,
        // 9: the case lifecycle. Progress reported by backends (one row per backend event id:
        //    a retried report changes nothing), the case's current stage (the latest by the
        //    stage's own time, so a report that arrives late does not move it back), the day it
        //    closed, its rating (one per case) and the follow-up a poor rating opens.
        """
        ALTER TABLE gateway_case ADD COLUMN stage TEXT;
        ALTER TABLE gateway_case ADD COLUMN stage_at INTEGER;
        ALTER TABLE gateway_case ADD COLUMN closed_at INTEGER;
        CREATE TABLE gateway_case_progress (
            city TEXT NOT NULL,
            number TEXT NOT NULL,
            event_id TEXT NOT NULL,
            stage TEXT NOT NULL,
            at INTEGER NOT NULL,
            note TEXT,
            received_at INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            PRIMARY KEY (city, number, event_id)
        ) WITHOUT ROWID;
        CREATE TABLE gateway_case_rating (
            city TEXT NOT NULL,
            number TEXT NOT NULL,
            level INTEGER NOT NULL,
            comment TEXT,
            rated_at INTEGER NOT NULL,
            PRIMARY KEY (city, number)
        ) WITHOUT ROWID;
        CREATE TABLE gateway_case_followup (
            id INTEGER PRIMARY KEY,
            city TEXT NOT NULL,
            number TEXT NOT NULL,
            department TEXT NOT NULL,
            opened_at INTEGER NOT NULL,
            closed_at INTEGER,
            note TEXT,
            UNIQUE (city, number)
        );
        CREATE INDEX gateway_case_received ON gateway_case (city, received_at)
        """,
    ])
}
