import Logging
import PostgresClient

/// Cases in PostgreSQL, shared by every instance (`gateway.json` `state.postgres`): the same
/// tables and transactions as ``CaseStore``, with row locks (`FOR UPDATE`) where SQLite's single
/// writer made them unnecessary — two instances recording reports or ratings for one case at
/// once are serialized on the case's row.
final class SharedCaseStore: CaseKeeping {
    static let migrations = PostgresMigrations(
        name: "cases",
        [
            """
            CREATE TABLE citygate_case (
                city TEXT NOT NULL,
                number TEXT NOT NULL,
                service TEXT NOT NULL,
                department TEXT NOT NULL,
                subject TEXT NOT NULL,
                partner TEXT NOT NULL,
                request_id TEXT NOT NULL,
                received_at BIGINT NOT NULL,
                counts_from TEXT NOT NULL,
                promised_by TEXT NOT NULL,
                legal_by TEXT NOT NULL,
                stage TEXT,
                stage_at BIGINT,
                closed_at BIGINT,
                PRIMARY KEY (city, number)
            );
            CREATE INDEX citygate_case_due ON citygate_case (legal_by);
            CREATE INDEX citygate_case_received ON citygate_case (city, received_at);
            CREATE TABLE citygate_case_progress (
                city TEXT NOT NULL,
                number TEXT NOT NULL,
                event_id TEXT NOT NULL,
                stage TEXT NOT NULL,
                at BIGINT NOT NULL,
                note TEXT,
                received_at BIGINT NOT NULL,
                sequence BIGINT NOT NULL,
                PRIMARY KEY (city, number, event_id)
            );
            CREATE TABLE citygate_case_rating (
                city TEXT NOT NULL,
                number TEXT NOT NULL,
                level INTEGER NOT NULL,
                comment TEXT,
                rated_at BIGINT NOT NULL,
                PRIMARY KEY (city, number)
            );
            CREATE TABLE citygate_case_followup (
                id BIGSERIAL PRIMARY KEY,
                city TEXT NOT NULL,
                number TEXT NOT NULL,
                department TEXT NOT NULL,
                opened_at BIGINT NOT NULL,
                closed_at BIGINT,
                note TEXT,
                UNIQUE (city, number)
            )
            """
        ])

    let pool: PostgresPool
    /// Seals comments and notes under `dataEncryption`, as ``CaseStore`` does.
    let sealing: CaseSealing

    /// Uses `pool`; migrates the tables over `setup` (at start).
    init(pool: PostgresPool, setup: PostgresConnection, sealing: CaseSealing) throws(PostgresError) {
        try Self.migrations.apply(on: setup)
        self.pool = pool
        self.sealing = sealing
    }

    static let columns = """
        city, number, service, department, subject, partner, request_id, received_at, counts_from, promised_by,
        legal_by, stage, stage_at, closed_at
        """

    static func record(_ row: PostgresRow) -> CaseStore.Record? {
        guard let countsFrom = CivilDate(row.text(8) ?? ""), let promisedBy = CivilDate(row.text(9) ?? ""),
            let legalBy = CivilDate(row.text(10) ?? "")
        else { return nil }
        return CaseStore.Record(
            city: row.text(0) ?? "", number: row.text(1) ?? "", service: row.text(2) ?? "",
            department: row.text(3) ?? "", subject: row.text(4) ?? "", partner: row.text(5) ?? "",
            requestId: row.text(6) ?? "", receivedAt: row.integer(7),
            deadlines: WorkingCalendar.Deadlines(countsFrom: countsFrom, promisedBy: promisedBy, legalBy: legalBy),
            stage: row.text(11).flatMap(ProgressStage.init(rawValue:)),
            stageAt: row.isNull(12) ? nil : row.integer(12), closedAt: row.isNull(13) ? nil : row.integer(13))
    }

    private static func find(city: String, number: String, lock: Bool, _ connection: PostgresConnection)
        throws(PostgresError) -> CaseStore.Record?
    {
        try connection.query(
            "SELECT \(columns) FROM citygate_case WHERE city = $1 AND number = $2\(lock ? " FOR UPDATE" : "")",
            [.text(city), .text(number)], operation: "find case"
        ).first.flatMap(record)
    }

    func record(_ record: CaseStore.Record) async throws {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                INSERT INTO citygate_case (city, number, service, department, subject, partner, request_id,
                received_at, counts_from, promised_by, legal_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (city, number) DO NOTHING
                """,
                [
                    .text(record.city), .text(record.number), .text(record.service), .text(record.department),
                    .text(record.subject), .text(record.partner), .text(record.requestId), .integer(record.receivedAt),
                    .text(record.deadlines.countsFrom.description), .text(record.deadlines.promisedBy.description),
                    .text(record.deadlines.legalBy.description),
                ], operation: "record case")
        }
    }

    func find(city: String, number: String) async throws -> CaseStore.Record? {
        try await pool.run { connection throws(PostgresError) in
            try Self.find(city: city, number: number, lock: false, connection)
        }
    }

    func openCounts(today: CivilDate) async throws -> [CaseStore.OpenCount] {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                SELECT city, department, COUNT(*), SUM(CASE WHEN legal_by < $1 THEN 1 ELSE 0 END) FROM citygate_case
                WHERE closed_at IS NULL GROUP BY city, department ORDER BY city, department
                """, [.text(today.description)], operation: "open cases"
            ).map {
                CaseStore.OpenCount(
                    city: $0.text(0) ?? "", department: $0.text(1) ?? "", open: Int($0.integer(2)),
                    overdue: Int($0.integer(3)))
            }
        }
    }

    func recordProgress(_ report: CaseStore.ProgressReport, receivedAt: Int64) async throws
        -> CaseStore.ProgressOutcome
    {
        try await pool.run { connection throws(PostgresError) -> CaseStore.ProgressOutcome in
            try connection.transaction { connection throws(PostgresError) -> CaseStore.ProgressOutcome in
                // The case row locked: reports for one case from several instances take turns.
                guard var record = try Self.find(city: report.city, number: report.number, lock: true, connection)
                else { return .unknownCase }
                if let existing = try Self.entry(report.city, report.number, eventId: report.eventId, connection) {
                    let same =
                        existing.stage == report.stage && existing.at == report.at && existing.note == report.note
                    return same ? .duplicate(existing, record) : .conflict(existing)
                }
                if let closedAt = record.closedAt, report.at > closedAt { return .closed(record) }
                let sequence =
                    (try connection.query(
                        "SELECT COUNT(*) FROM citygate_case_progress WHERE city = $1 AND number = $2",
                        [.text(report.city), .text(report.number)], operation: "record progress"
                    ).first?.integer(0) ?? 0) + 1
                let entry = CaseStore.ProgressEntry(
                    eventId: report.eventId, stage: report.stage, at: report.at, note: report.note,
                    receivedAt: receivedAt, sequence: sequence)
                try connection.query(
                    """
                    INSERT INTO citygate_case_progress (city, number, event_id, stage, at, note, received_at, sequence)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    """,
                    [
                        .text(report.city), .text(report.number), .text(report.eventId), .text(report.stage.rawValue),
                        .integer(report.at), .optional(report.note), .integer(receivedAt), .integer(sequence),
                    ], operation: "record progress")
                if report.at >= (record.stageAt ?? .min) {
                    record.stage = report.stage
                    record.stageAt = report.at
                    record.closedAt = report.stage.closes ? report.at : nil
                    try connection.query(
                        "UPDATE citygate_case SET stage = $3, stage_at = $4, closed_at = $5 WHERE city = $1 AND number = $2",
                        [
                            .text(report.city), .text(report.number), .text(report.stage.rawValue),
                            .integer(report.at), record.closedAt.map { .integer($0) } ?? .null,
                        ], operation: "record progress")
                }
                return .recorded(entry, record)
            }
        }
    }

    private static let entryColumns = "event_id, stage, at, note, received_at, sequence"

    private static func entry(_ row: PostgresRow) -> CaseStore.ProgressEntry? {
        guard let stage = ProgressStage(rawValue: row.text(1) ?? "") else { return nil }
        return CaseStore.ProgressEntry(
            eventId: row.text(0) ?? "", stage: stage, at: row.integer(2), note: row.text(3),
            receivedAt: row.integer(4), sequence: row.integer(5))
    }

    private static func entry(_ city: String, _ number: String, eventId: String, _ connection: PostgresConnection)
        throws(PostgresError) -> CaseStore.ProgressEntry?
    {
        try connection.query(
            """
            SELECT \(entryColumns) FROM citygate_case_progress WHERE city = $1 AND number = $2 AND event_id = $3
            """, [.text(city), .text(number), .text(eventId)], operation: "find progress"
        ).first.flatMap(entry)
    }

    func history(city: String, number: String) async throws -> [CaseStore.ProgressEntry] {
        try await pool.run { connection throws(PostgresError) in
            try connection.query(
                """
                SELECT \(Self.entryColumns) FROM citygate_case_progress WHERE city = $1 AND number = $2
                ORDER BY at, sequence
                """, [.text(city), .text(number)], operation: "case history"
            ).map(Self.entry).compactMap { $0 }
        }
    }

    func rate(city: String, number: String, level: RatingLevel, comment: String?, at: Int64) async throws
        -> CaseStore.RatingOutcome
    {
        let sealedComment = try sealing.seal(comment, context: CaseStore.ratingContext(city, number))
        let sealing = sealing
        return try await pool.run { connection throws(PostgresError) -> CaseStore.RatingOutcome in
            try connection.transaction { connection throws(PostgresError) -> CaseStore.RatingOutcome in
                guard let record = try Self.find(city: city, number: number, lock: true, connection) else {
                    return .unknownCase
                }
                if let existing = try Self.rating(city, number, sealing, connection) { return .alreadyRated(existing) }
                guard record.stage == .finished, record.closedAt != nil else { return .notFinished }
                try connection.query(
                    "INSERT INTO citygate_case_rating (city, number, level, comment, rated_at) VALUES ($1, $2, $3, $4, $5)",
                    [
                        .text(city), .text(number), .integer(Int64(level.rawValue)), .optional(sealedComment),
                        .integer(at),
                    ], operation: "rate case")
                var followUp: CaseStore.FollowUp?
                if level.isPoor {
                    try connection.query(
                        "INSERT INTO citygate_case_followup (city, number, department, opened_at) VALUES ($1, $2, $3, $4)",
                        [.text(city), .text(number), .text(record.department), .integer(at)], operation: "rate case")
                    followUp = try Self.followUps(
                        "WHERE city = $1 AND number = $2", [.text(city), .text(number)], sealing, connection
                    ).first
                }
                return .rated(CaseStore.Rating(level: level, comment: comment, ratedAt: at), followUp: followUp)
            }
        }
    }

    private static func rating(
        _ city: String, _ number: String, _ sealing: CaseSealing, _ connection: PostgresConnection
    )
        throws(PostgresError) -> CaseStore.Rating?
    {
        try connection.query(
            "SELECT level, comment, rated_at FROM citygate_case_rating WHERE city = $1 AND number = $2",
            [.text(city), .text(number)], operation: "case rating"
        ).first.flatMap { row in
            RatingLevel(rawValue: Int(row.integer(0))).map {
                CaseStore.Rating(
                    level: $0, comment: sealing.open(row.text(1), context: CaseStore.ratingContext(city, number)),
                    ratedAt: row.integer(2))
            }
        }
    }

    func rating(city: String, number: String) async throws -> CaseStore.Rating? {
        let sealing = sealing
        return try await pool.run { connection throws(PostgresError) in
            try Self.rating(city, number, sealing, connection)
        }
    }

    private static func followUps(
        _ clause: String, _ values: [PostgresValue], _ sealing: CaseSealing, _ connection: PostgresConnection
    ) throws(PostgresError) -> [CaseStore.FollowUp] {
        try connection.query(
            "SELECT id, city, number, department, opened_at, closed_at, note FROM citygate_case_followup \(clause)",
            values, operation: "follow-ups"
        ).map { row in
            CaseStore.FollowUp(
                id: row.integer(0), city: row.text(1) ?? "", number: row.text(2) ?? "", department: row.text(3) ?? "",
                openedAt: row.integer(4), closedAt: row.isNull(5) ? nil : row.integer(5),
                note: sealing.open(row.text(6), context: CaseStore.followUpContext(row.integer(0))))
        }
    }

    func followUps(city: String?, openOnly: Bool, limit: Int) async throws -> [CaseStore.FollowUp] {
        let sealing = sealing
        return try await pool.run { connection throws(PostgresError) in
            try Self.followUps(
                "WHERE ($1::text IS NULL OR city = $1) AND ($2 = 0 OR closed_at IS NULL) ORDER BY id DESC LIMIT $3",
                [.optional(city), .integer(openOnly ? 1 : 0), .integer(Int64(limit))], sealing, connection)
        }
    }

    func followUp(city: String, number: String) async throws -> CaseStore.FollowUp? {
        let sealing = sealing
        return try await pool.run { connection throws(PostgresError) in
            try Self.followUps("WHERE city = $1 AND number = $2", [.text(city), .text(number)], sealing, connection)
                .first
        }
    }

    func closeFollowUp(id: Int64, note: String, at: Int64) async throws -> CaseStore.CloseOutcome {
        let sealedNote = try sealing.seal(note, context: CaseStore.followUpContext(id))
        let sealing = sealing
        return try await pool.run { connection throws(PostgresError) -> CaseStore.CloseOutcome in
            try connection.transaction { connection throws(PostgresError) -> CaseStore.CloseOutcome in
                guard
                    var followUp = try Self.followUps("WHERE id = $1 FOR UPDATE", [.integer(id)], sealing, connection)
                        .first
                else { return .unknown }
                guard followUp.closedAt == nil else { return .alreadyClosed(followUp) }
                try connection.query(
                    "UPDATE citygate_case_followup SET closed_at = $2, note = $3 WHERE id = $1",
                    [.integer(id), .integer(at), .optional(sealedNote)], operation: "close follow-up")
                followUp.closedAt = at
                followUp.note = note
                return .closed(followUp)
            }
        }
    }

    func supervisionFigures(city: String, start: Int64, asOf: Int64) async throws -> CaseStore.SupervisionFigures {
        try await pool.run { connection throws(PostgresError) in
            let cases = try connection.query(
                """
                SELECT \(Self.columns) FROM citygate_case WHERE city = $1 AND received_at < $3
                AND (closed_at IS NULL OR closed_at >= $2)
                """, [.text(city), .integer(start), .integer(asOf)], operation: "supervision"
            ).map(Self.record).compactMap { $0 }
            let ratings = try connection.query(
                """
                SELECT c.department, r.level FROM citygate_case_rating AS r JOIN citygate_case AS c
                ON c.city = r.city AND c.number = r.number WHERE r.city = $1 AND r.rated_at >= $2 AND r.rated_at < $3
                """, [.text(city), .integer(start), .integer(asOf)], operation: "supervision"
            ).map { (department: $0.text(0) ?? "", level: RatingLevel(rawValue: Int($0.integer(1)))) }
            let followUps = try connection.query(
                """
                SELECT department, COUNT(*) FROM citygate_case_followup WHERE city = $1 AND opened_at < $2
                AND (closed_at IS NULL OR closed_at >= $2) GROUP BY department
                """, [.text(city), .integer(asOf)], operation: "supervision"
            ).map { (department: $0.text(0) ?? "", count: Int($0.integer(1))) }
            return CaseStore.SupervisionFigures(cases: cases, ratings: ratings, followUps: followUps)
        }
    }
}
