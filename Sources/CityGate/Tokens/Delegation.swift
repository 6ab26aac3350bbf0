import Foundation
import Store

/// An agent station's standing to act for a citizen (代办): which agent, for which citizen,
/// through which partner, for which services, and when. Identities are salted hashes, the same
/// ones tokens carry, so the record never holds a raw ID number.
public struct Delegation: Sendable, Equatable {
    /// The record id (`dlg_…`).
    public var id: String
    /// The partner whose agent station acts.
    public var partnerId: String
    /// The agent's subject hash.
    public var agent: String
    /// The citizen's subject hash.
    public var citizen: String
    /// Service ids the agent may call for the citizen.
    public var services: [String]
    /// Valid from (Unix seconds).
    public var notBefore: Int64
    /// Valid until (Unix seconds).
    public var notAfter: Int64
    /// When it was revoked, if it was.
    public var revokedAt: Int64?

    /// Whether it allows acting at `now`.
    public func isValid(at now: Int64) -> Bool { revokedAt == nil && notBefore <= now && now < notAfter }

    func json() -> [String: Any] {
        var object: [String: Any] = [
            "id": id, "partner": partnerId, "agent": agent, "citizen": citizen, "services": services,
            "notBefore": notBefore, "notAfter": notAfter,
        ]
        if let revokedAt { object["revokedAt"] = revokedAt }
        return object
    }
}

/// Delegations in the gateway's SQLite store.
public final class DelegationStore: Sendable {
    private let database: Database

    /// Uses `database`, migrated to the gateway schema.
    public init(database: Database) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
    }

    private static let columns = "id, partner, agent, citizen, services, not_before, not_after, revoked_at"

    private static func row(_ row: Row) -> Delegation {
        Delegation(
            id: row.text(0) ?? "", partnerId: row.text(1) ?? "", agent: row.text(2) ?? "",
            citizen: row.text(3) ?? "",
            services: (row.text(4) ?? "").split(separator: " ").map(String.init), notBefore: row.integer(5),
            notAfter: row.integer(6), revokedAt: row.text(7) == nil ? nil : row.integer(7))
    }

    /// Stores a new delegation.
    func insert(_ delegation: Delegation, now: Int64) throws(SQLiteError) {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                """
                INSERT INTO delegation (id, partner, agent, citizen, services, not_before, not_after, created_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """,
                [
                    .text(delegation.id), .text(delegation.partnerId), .text(delegation.agent),
                    .text(delegation.citizen), .text(delegation.services.joined(separator: " ")),
                    .integer(delegation.notBefore), .integer(delegation.notAfter), .integer(now),
                ])
        }
    }

    /// One delegation by id.
    func find(id: String) throws(SQLiteError) -> Delegation? {
        try database.withConnection { session throws(SQLiteError) in
            try session.query("SELECT \(Self.columns) FROM delegation WHERE id = ?1", [.text(id)], row: Self.row).first
        }
    }

    /// The delegations valid at `now` that let `agent` act for `citizen` through `partnerId`.
    func valid(partnerId: String, agent: String, citizen: String, now: Int64) throws(SQLiteError) -> [Delegation] {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                """
                SELECT \(Self.columns) FROM delegation WHERE partner = ?1 AND agent = ?2 AND citizen = ?3
                AND revoked_at IS NULL AND not_before <= ?4 AND not_after > ?4 ORDER BY not_after DESC
                """,
                [.text(partnerId), .text(agent), .text(citizen), .integer(now)], row: Self.row)
        }
    }

    /// Every delegation, newest first (at most `limit`).
    func list(limit: Int) throws(SQLiteError) -> [Delegation] {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                "SELECT \(Self.columns) FROM delegation ORDER BY created_at DESC LIMIT ?1", [.integer(Int64(limit))],
                row: Self.row)
        }
    }

    /// Revokes a delegation; false when there is none with that id.
    func revoke(id: String, now: Int64) throws(SQLiteError) -> Bool {
        try database.withConnection { session throws(SQLiteError) in
            try session.run(
                "UPDATE delegation SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                [.text(id), .integer(now)])
        } == 1
    }
}
