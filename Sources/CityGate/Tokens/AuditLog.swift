import Store

/// The audit trail of citizen-bound calls: who called which service for whom, and whether an
/// agent acted under a delegation. Subjects are salted hashes; no input or answer is kept.
public final class AuditLog: Sendable {
    /// One audited call.
    public struct Entry: Sendable, Equatable {
        /// The request id (also in the access log and the partner's response).
        public var requestId: String
        /// Unix seconds.
        public var at: Int64
        /// City code, service id, operation name.
        public var city: String
        /// The service id.
        public var service: String
        /// The operation name.
        public var operation: String
        /// The calling partner and its client.
        public var partnerId: String
        /// The OAuth client.
        public var clientId: String
        /// The citizen's subject hash.
        public var subject: String
        /// The agent's subject hash, for calls made on the citizen's behalf.
        public var agent: String?
        /// The delegation that allowed it.
        public var delegationId: String?
        /// The HTTP status answered.
        public var status: Int
        /// For a refusal, the problem slug that ended the call (`subject-mismatch`, …).
        public var outcome: String? = nil

        func json() -> [String: Any] {
            var object: [String: Any] = [
                "requestId": requestId, "at": at, "city": city, "service": service, "operation": operation,
                "partner": partnerId, "client": clientId, "subject": subject, "status": status,
                "onBehalf": agent != nil,
            ]
            if let agent { object["agent"] = agent }
            if let delegationId { object["delegation"] = delegationId }
            if let outcome { object["outcome"] = outcome }
            return object
        }
    }

    private let database: Database

    /// Uses `database`, migrated to the gateway schema.
    public init(database: Database) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
    }

    /// Appends one entry.
    func record(_ entry: Entry) throws(SQLiteError) {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                """
                INSERT OR REPLACE INTO audit (request_id, at, city, service, operation, partner, client_id, subject,
                agent, delegation, status, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                """,
                [
                    .text(entry.requestId), .integer(entry.at), .text(entry.city), .text(entry.service),
                    .text(entry.operation), .text(entry.partnerId), .text(entry.clientId), .text(entry.subject),
                    entry.agent.map { .text($0) } ?? .null, entry.delegationId.map { .text($0) } ?? .null,
                    .integer(Int64(entry.status)), entry.outcome.map { .text($0) } ?? .null,
                ])
        }
    }

    /// Entries at or after `since`, newest first; `onBehalfOnly` keeps the delegated ones.
    func list(since: Int64 = 0, onBehalfOnly: Bool = false, limit: Int = 500) throws(SQLiteError) -> [Entry] {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                """
                SELECT request_id, at, city, service, operation, partner, client_id, subject, agent, delegation, status,
                outcome
                FROM audit WHERE at >= ?1 AND (?2 = 0 OR agent IS NOT NULL) ORDER BY at DESC LIMIT ?3
                """,
                [.integer(since), .integer(onBehalfOnly ? 1 : 0), .integer(Int64(limit))]
            ) { row in
                Entry(
                    requestId: row.text(0) ?? "", at: row.integer(1), city: row.text(2) ?? "",
                    service: row.text(3) ?? "",
                    operation: row.text(4) ?? "", partnerId: row.text(5) ?? "", clientId: row.text(6) ?? "",
                    subject: row.text(7) ?? "", agent: row.text(8), delegationId: row.text(9),
                    status: Int(row.integer(10)), outcome: row.text(11))
            }
        }
    }
}
