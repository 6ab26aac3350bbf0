/// Schema versions applied in order, tracked in `PRAGMA user_version`.
///
/// Each step runs in its own transaction together with the version bump, so a crash leaves the
/// schema at a whole version. Steps are append-only: never edit one that has shipped.
public struct Migrations: Sendable {
    /// The SQL of each version, version 1 first.
    public let steps: [String]

    /// Creates a migration list.
    public init(_ steps: [String]) {
        self.steps = steps
    }

    /// Brings `database` up to the latest version; returns the version it is at.
    @discardableResult
    public func apply(to database: Database) throws(SQLiteError) -> Int {
        var current = try database.withConnection { session throws(SQLiteError) in
            try session.query("PRAGMA user_version") { Int($0.integer(0)) }.first ?? 0
        }
        guard current <= steps.count else {
            throw SQLiteError(
                code: 0, message: "the database is at version \(current), newer than this build knows (\(steps.count))",
                operation: "migrate")
        }
        while current < steps.count {
            let next = current + 1
            try database.withConnection { session throws(SQLiteError) in
                try session.run("BEGIN IMMEDIATE")
                do throws(SQLiteError) {
                    for statement in steps[current].split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                        try session.run(String(statement))
                    }
                    try session.run("PRAGMA user_version = \(next)")
                    try session.run("COMMIT")
                } catch {
                    _ = try? session.run("ROLLBACK")
                    throw error
                }
            }
            current = next
        }
        return current
    }
}
