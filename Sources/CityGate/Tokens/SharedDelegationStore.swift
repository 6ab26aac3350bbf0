import PostgresClient

/// Delegations in PostgreSQL (`citygate_delegation`, migrated with the token schema), shared by
/// every instance: no cache, so a revocation through one instance stops the agent's next call
/// on any other.
final class SharedDelegationStore: DelegationKeeping {
    let pool: PostgresPool

    /// Uses `pool`, whose database the token schema has been applied to.
    init(pool: PostgresPool) {
        self.pool = pool
    }

    private static let columns = "id, partner, agent, citizen, services, not_before, not_after, revoked_at"

    private static func delegation(_ row: PostgresRow) -> Delegation {
        Delegation(
            id: row.text(0) ?? "", partnerId: row.text(1) ?? "", agent: row.text(2) ?? "", citizen: row.text(3) ?? "",
            services: (row.text(4) ?? "").split(separator: " ").map(String.init), notBefore: row.integer(5),
            notAfter: row.integer(6), revokedAt: row.isNull(7) ? nil : row.integer(7))
    }

    func insert(_ delegation: Delegation, now: Int64) async throws {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                INSERT INTO citygate_delegation (id, partner, agent, citizen, services, not_before, not_after, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [
                    .text(delegation.id), .text(delegation.partnerId), .text(delegation.agent),
                    .text(delegation.citizen), .text(delegation.services.joined(separator: " ")),
                    .integer(delegation.notBefore), .integer(delegation.notAfter), .integer(now),
                ], operation: "store delegation")
        }
    }

    func find(id: String) async throws -> Delegation? {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                "SELECT \(Self.columns) FROM citygate_delegation WHERE id = $1", [.text(id)],
                operation: "find delegation"
            ).first.map(Self.delegation)
        }
    }

    func valid(partnerId: String, agent: String, citizen: String, now: Int64) async throws -> [Delegation] {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                SELECT \(Self.columns) FROM citygate_delegation WHERE partner = $1 AND agent = $2 AND citizen = $3
                AND revoked_at IS NULL AND not_before <= $4 AND not_after > $4 ORDER BY not_after DESC
                """, [.text(partnerId), .text(agent), .text(citizen), .integer(now)], operation: "find delegations"
            ).map(Self.delegation)
        }
    }

    func list(limit: Int) async throws -> [Delegation] {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                "SELECT \(Self.columns) FROM citygate_delegation ORDER BY created_at DESC, id LIMIT $1",
                [.integer(Int64(limit))], operation: "list delegations"
            ).map(Self.delegation)
        }
    }

    func revoke(id: String, now: Int64) async throws -> Bool {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                "UPDATE citygate_delegation SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                [.text(id), .integer(now)], operation: "revoke delegation"
            ).affected == 1
        }
    }
}
