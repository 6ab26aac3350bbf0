import Store

/// The cases opened through the gateway (`gateway_case` in gateway.db): the record the case
/// lifecycle builds on (progress, supervision, ratings).
final class CaseStore: CaseKeeping {
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
        /// The current stage (nil until a backend reports one) and its time (Unix seconds).
        var stage: ProgressStage? = nil
        var stageAt: Int64? = nil
        /// When the case closed (finished or refused), Unix seconds.
        var closedAt: Int64? = nil
    }

    let database: Database
    /// The at-rest cipher in force (`dataEncryption`), read at each write and read so a reload
    /// that rotates keys takes effect at once.
    let cipher: @Sendable () -> DataCipher?

    /// Uses `database`, migrated to the gateway schema.
    init(database: Database, cipher: @escaping @Sendable () -> DataCipher? = { nil }) throws(SQLiteError) {
        try GatewaySchema.migrations.apply(to: database)
        self.database = database
        self.cipher = cipher
    }

    /// `text` sealed for the row `context` when a cipher is configured.
    func sealed(_ text: String?, context: String) throws(SQLiteError) -> SQLValue {
        do { return try CaseSealing(cipher: cipher).seal(text, context: context).map { .text($0) } ?? .null } catch {
            throw SQLiteError(code: 0, message: error.description, operation: "seal")
        }
    }

    /// A stored value opened (nil, and logged, when it does not open).
    func opened(_ stored: String?, context: String) -> String? {
        CaseSealing(cipher: cipher).open(stored, context: context)
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
        try database.withConnection { session throws(SQLiteError) in try Self.find(city: city, number: number, session)
        }
    }

    /// Open cases per city and department, and how many of them are past their legal date on
    /// `today`.
    func openCounts(today: CivilDate) throws(SQLiteError) -> [OpenCount] {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                """
                SELECT city, department, COUNT(*), SUM(legal_by < ?1) FROM gateway_case WHERE closed_at IS NULL
                GROUP BY city, department ORDER BY city, department
                """, [.text(today.description)]
            ) {
                OpenCount(
                    city: $0.text(0) ?? "", department: $0.text(1) ?? "", open: Int($0.integer(2)),
                    overdue: Int($0.integer(3)))
            }
        }
    }

    static let columns = """
        city, number, service, department, subject, partner, request_id, received_at, counts_from, promised_by,
        legal_by, stage, stage_at, closed_at
        """

    static func find(city: String, number: String, _ session: Session) throws(SQLiteError) -> Record? {
        try session.query(
            "SELECT \(columns) FROM gateway_case WHERE city = ?1 AND number = ?2", [.text(city), .text(number)],
            row: record
        ).first ?? nil
    }

    /// A row of ``columns`` (nil when its dates do not parse: a row not written by this store).
    static func record(_ row: Row) -> Record? {
        guard let countsFrom = CivilDate(row.text(8) ?? ""), let promisedBy = CivilDate(row.text(9) ?? ""),
            let legalBy = CivilDate(row.text(10) ?? "")
        else { return nil }
        return Record(
            city: row.text(0) ?? "", number: row.text(1) ?? "", service: row.text(2) ?? "",
            department: row.text(3) ?? "", subject: row.text(4) ?? "", partner: row.text(5) ?? "",
            requestId: row.text(6) ?? "", receivedAt: row.integer(7),
            deadlines: WorkingCalendar.Deadlines(countsFrom: countsFrom, promisedBy: promisedBy, legalBy: legalBy),
            stage: row.text(11).flatMap(ProgressStage.init(rawValue:)),
            stageAt: row.text(12) == nil ? nil : row.integer(12),
            closedAt: row.text(13) == nil ? nil : row.integer(13))
    }

    func supervisionFigures(city: String, start: Int64, asOf: Int64) throws(SQLiteError) -> SupervisionFigures {
        try database.withConnection { session throws(SQLiteError) in
            let cases = try session.query(
                """
                SELECT \(Self.columns) FROM gateway_case WHERE city = ?1 AND received_at < ?3
                AND (closed_at IS NULL OR closed_at >= ?2)
                """, [.text(city), .integer(start), .integer(asOf)], row: Self.record
            ).compactMap { $0 }
            let ratings = try session.query(
                """
                SELECT c.department, r.level FROM gateway_case_rating AS r JOIN gateway_case AS c
                ON c.city = r.city AND c.number = r.number WHERE r.city = ?1 AND r.rated_at >= ?2 AND r.rated_at < ?3
                """, [.text(city), .integer(start), .integer(asOf)]
            ) { (department: $0.text(0) ?? "", level: RatingLevel(rawValue: Int($0.integer(1)))) }
            let followUps = try session.query(
                """
                SELECT department, COUNT(*) FROM gateway_case_followup WHERE city = ?1 AND opened_at < ?2
                AND (closed_at IS NULL OR closed_at >= ?2) GROUP BY department
                """, [.text(city), .integer(asOf)]
            ) { (department: $0.text(0) ?? "", count: Int($0.integer(1))) }
            return SupervisionFigures(cases: cases, ratings: ratings, followUps: followUps)
        }
    }
}
