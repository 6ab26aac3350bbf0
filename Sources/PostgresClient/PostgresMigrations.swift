/// Schema versions for a PostgreSQL store, applied in order and tracked in a `citygate_schema`
/// row per store name.
///
/// Instances starting together take a transaction-level advisory lock, so exactly one applies
/// each step; a step and its version bump commit together. Steps are append-only.
public struct PostgresMigrations: Sendable {
    /// The store's name (`inbox`, `tokens`): each has its own version.
    public let name: String
    /// The SQL of each version, version 1 first (several statements separated by `;`).
    public let steps: [String]

    /// Creates a migration list.
    public init(name: String, _ steps: [String]) {
        self.name = name
        self.steps = steps
    }

    /// Brings the database up to the latest version; returns the version it is at.
    @discardableResult
    public func apply(on connection: PostgresConnection) throws(PostgresError) -> Int {
        try connection.transaction { connection throws(PostgresError) -> Int in
            // One lock for every store's migrations: hashtext is stable across servers.
            try connection.query("SELECT pg_advisory_xact_lock(hashtext('citygate-migrations'))", operation: "migrate")
            try connection.query(
                "CREATE TABLE IF NOT EXISTS citygate_schema (store TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                operation: "migrate")
            var current = Int(
                try connection.query(
                    "SELECT version FROM citygate_schema WHERE store = $1", [.text(name)], operation: "migrate"
                ).first?.integer(0) ?? 0)
            guard current <= steps.count else {
                throw PostgresError(
                    message:
                        "the \(name) schema is at version \(current), newer than this build knows (\(steps.count))",
                    operation: "migrate")
            }
            while current < steps.count {
                for statement in steps[current].split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                    try connection.query(String(statement), operation: "migrate")
                }
                current += 1
                try connection.query(
                    """
                    INSERT INTO citygate_schema (store, version) VALUES ($1, $2)
                    ON CONFLICT (store) DO UPDATE SET version = EXCLUDED.version
                    """, [.text(name), .integer(Int64(current))], operation: "migrate")
            }
            return current
        }
    }
}
