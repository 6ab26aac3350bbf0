import Store

/// The cases opened through the gateway (`gateway_case` in gateway.db): the record the case
/// lifecycle builds on (progress, supervision, ratings).
final class CaseStore: Sendable {
    /// One case as recorded when its application was answered.
    struct Record: Equatable, Sendable {
        var city: String
        var number: String
        var service: String
        var department: String
        /// The applicant's subject hash (empty for a partner-level application).
        var subject: String
        var partner: String
        var requestId: String
        /// Unix seconds.
        var receivedAt: Int64
        var deadlines: WorkingCalendar.Deadlines
    }

    private let database: Database

    /// Uses `database`, migrated to the gateway schema.
    init(database: Database) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
    }

    /// Records a case; a number the city already has keeps its first record (a backend that
    /// answers a retried application with the same case).
    func record(_ record: Record) throws(SQLiteError) {
        _ = try database.withConnection { session throws(SQLiteError) in
            try session.run(
                """
                INSERT OR IGNORE INTO gateway_case (city, number, service, department, subject, partner, request_id,
                received_at, counts_from, promised_by, legal_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                """,
                [
                    .text(record.city), .text(record.number), .text(record.service), .text(record.department),
                    .text(record.subject), .text(record.partner), .text(record.requestId), .integer(record.receivedAt),
                    .text(record.deadlines.countsFrom.description), .text(record.deadlines.promisedBy.description),
                    .text(record.deadlines.legalBy.description),
                ])
        }
    }

    /// The case `number` of `city`, if recorded.
    func find(city: String, number: String) throws(SQLiteError) -> Record? {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                """
                SELECT city, number, service, department, subject, partner, request_id, received_at, counts_from,
                promised_by, legal_by FROM gateway_case WHERE city = ?1 AND number = ?2
                """, [.text(city), .text(number)]
            ) { row -> Record? in
                guard let countsFrom = CivilDate(row.text(8) ?? ""), let promisedBy = CivilDate(row.text(9) ?? ""),
                    let legalBy = CivilDate(row.text(10) ?? "")
                else { return nil }
                return Record(
                    city: row.text(0) ?? "", number: row.text(1) ?? "", service: row.text(2) ?? "",
                    department: row.text(3) ?? "", subject: row.text(4) ?? "", partner: row.text(5) ?? "",
                    requestId: row.text(6) ?? "", receivedAt: row.integer(7),
                    deadlines: WorkingCalendar.Deadlines(
                        countsFrom: countsFrom, promisedBy: promisedBy, legalBy: legalBy))
            }.first ?? nil
        }
    }
}
