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
        """
    ])
}
