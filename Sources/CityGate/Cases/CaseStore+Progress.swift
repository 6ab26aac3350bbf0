import Store

extension CaseStore {
    /// A stage change as a backend reports it.
    struct ProgressReport: Sendable, Equatable {
        var city: String
        var number: String
        /// The backend's own id for the report: a retry carries the same one.
        var eventId: String
        var stage: ProgressStage
        /// When the stage was reached, by the backend's clock (Unix seconds).
        var at: Int64
        /// A free note for the applicant.
        var note: String?
    }

    /// One recorded stage change.
    struct ProgressEntry: Sendable, Equatable {
        var eventId: String
        var stage: ProgressStage
        var at: Int64
        var note: String?
        /// When the gateway received it (Unix seconds).
        var receivedAt: Int64
        /// Its place among the case's reports, in order of receipt (1, 2, …).
        var sequence: Int64
    }

    /// What recording a report did.
    enum ProgressOutcome: Sendable, Equatable {
        /// Recorded now; the case as it stands after it.
        case recorded(ProgressEntry, Record)
        /// The same event id was recorded before with the same content: nothing changed.
        case duplicate(ProgressEntry, Record)
        /// The event id was recorded before with other content.
        case conflict(ProgressEntry)
        /// The city has no case with that number.
        case unknownCase
        /// The case closed before this report's time; a later stage cannot follow.
        case closed(Record)
    }

    /// Records a report atomically with the case's current stage. The current stage is the one
    /// with the latest time (ties: the later report), so a report that arrives out of order is
    /// kept in the history without moving the case back.
    func recordProgress(_ report: ProgressReport, receivedAt: Int64) throws(SQLiteError) -> ProgressOutcome {
        try database.transaction { session throws(SQLiteError) -> ProgressOutcome in
            guard var record = try Self.find(city: report.city, number: report.number, session) else {
                return .unknownCase
            }
            if let existing = try Self.entry(report.city, report.number, eventId: report.eventId, session) {
                let same = existing.stage == report.stage && existing.at == report.at && existing.note == report.note
                return same ? .duplicate(existing, record) : .conflict(existing)
            }
            if let closedAt = record.closedAt, report.at > closedAt { return .closed(record) }
            let sequence =
                (try session.query(
                    "SELECT COUNT(*) FROM gateway_case_progress WHERE city = ?1 AND number = ?2",
                    [.text(report.city), .text(report.number)]
                ) { $0.integer(0) }.first ?? 0) + 1
            let entry = ProgressEntry(
                eventId: report.eventId, stage: report.stage, at: report.at, note: report.note, receivedAt: receivedAt,
                sequence: sequence)
            try session.run(
                """
                INSERT INTO gateway_case_progress (city, number, event_id, stage, at, note, received_at, sequence)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """,
                [
                    .text(report.city), .text(report.number), .text(report.eventId), .text(report.stage.rawValue),
                    .integer(report.at), report.note.map { .text($0) } ?? .null, .integer(receivedAt),
                    .integer(sequence),
                ])
            if report.at >= (record.stageAt ?? .min) {
                record.stage = report.stage
                record.stageAt = report.at
                record.closedAt = report.stage.closes ? report.at : nil
                try session.run(
                    "UPDATE gateway_case SET stage = ?3, stage_at = ?4, closed_at = ?5 WHERE city = ?1 AND number = ?2",
                    [
                        .text(report.city), .text(report.number), .text(report.stage.rawValue), .integer(report.at),
                        record.closedAt.map { .integer($0) } ?? .null,
                    ])
            }
            return .recorded(entry, record)
        }
    }

    /// The case's reports by stage time (ties: order of receipt).
    func history(city: String, number: String) throws(SQLiteError) -> [ProgressEntry] {
        try database.withConnection { session throws(SQLiteError) in
            try session.query(
                """
                SELECT event_id, stage, at, note, received_at, sequence FROM gateway_case_progress
                WHERE city = ?1 AND number = ?2 ORDER BY at, sequence
                """, [.text(city), .text(number)], row: Self.entry
            ).compactMap { $0 }
        }
    }

    private static func entry(_ city: String, _ number: String, eventId: String, _ session: Session)
        throws(SQLiteError) -> ProgressEntry?
    {
        try session.query(
            """
            SELECT event_id, stage, at, note, received_at, sequence FROM gateway_case_progress
            WHERE city = ?1 AND number = ?2 AND event_id = ?3
            """, [.text(city), .text(number), .text(eventId)], row: entry
        ).first ?? nil
    }

    private static func entry(_ row: Row) -> ProgressEntry? {
        guard let stage = ProgressStage(rawValue: row.text(1) ?? "") else { return nil }
        return ProgressEntry(
            eventId: row.text(0) ?? "", stage: stage, at: row.integer(2), note: row.text(3),
            receivedAt: row.integer(4), sequence: row.integer(5))
    }
}
