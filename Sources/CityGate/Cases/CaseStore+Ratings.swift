import Store

extension CaseStore {
    /// A citizen's rating of a case.
    struct Rating: Sendable, Equatable {
        var level: RatingLevel
        /// The comment with personal data masked.
        var comment: String?
        var ratedAt: Int64
    }

    /// A follow-up opened by a poor rating (差评整改), closed by the department with a note.
    struct FollowUp: Sendable, Equatable {
        var id: Int64
        var city: String
        var number: String
        var department: String
        var openedAt: Int64
        var closedAt: Int64?
        var note: String?
    }

    /// What a rating did.
    enum RatingOutcome: Sendable, Equatable {
        /// Stored; the follow-up a poor rating opened.
        case rated(Rating, followUp: FollowUp?)
        /// The case is not finished yet.
        case notFinished
        /// The case has its rating already (one per case).
        case alreadyRated(Rating)
        case unknownCase
    }

    /// Rates a finished case once; a poor rating opens a follow-up in the same transaction.
    func rate(city: String, number: String, level: RatingLevel, comment: String?, at: Int64) throws(SQLiteError)
        -> RatingOutcome
    {
        try database.transaction { session throws(SQLiteError) -> RatingOutcome in
            guard let record = try Self.find(city: city, number: number, session) else { return .unknownCase }
            if let existing = try rating(city, number, session) { return .alreadyRated(existing) }
            guard record.stage == .finished, record.closedAt != nil else { return .notFinished }
            try session.run(
                "INSERT INTO gateway_case_rating (city, number, level, comment, rated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                [
                    .text(city), .text(number), .integer(Int64(level.rawValue)),
                    try sealed(comment, context: Self.ratingContext(city, number)), .integer(at),
                ])
            var followUp: FollowUp?
            if level.isPoor {
                try session.run(
                    "INSERT INTO gateway_case_followup (city, number, department, opened_at) VALUES (?1, ?2, ?3, ?4)",
                    [.text(city), .text(number), .text(record.department), .integer(at)])
                followUp = try followUps(
                    "WHERE city = ?1 AND number = ?2", [.text(city), .text(number)], session
                ).first
            }
            return .rated(Rating(level: level, comment: comment, ratedAt: at), followUp: followUp)
        }
    }

    /// The case's rating, if it has one.
    func rating(city: String, number: String) throws(SQLiteError) -> Rating? {
        try database.withConnection { session throws(SQLiteError) in try rating(city, number, session) }
    }

    /// Follow-ups, newest first: of one city, and only the open ones when `openOnly`.
    func followUps(city: String?, openOnly: Bool, limit: Int = 500) throws(SQLiteError) -> [FollowUp] {
        try database.withConnection { session throws(SQLiteError) in
            try followUps(
                "WHERE (?1 IS NULL OR city = ?1) AND (?2 = 0 OR closed_at IS NULL) ORDER BY id DESC LIMIT ?3",
                [city.map { .text($0) } ?? .null, .integer(openOnly ? 1 : 0), .integer(Int64(limit))], session)
        }
    }

    /// The follow-up of a case, if it has one.
    func followUp(city: String, number: String) throws(SQLiteError) -> FollowUp? {
        try database.withConnection { session throws(SQLiteError) in
            try followUps("WHERE city = ?1 AND number = ?2", [.text(city), .text(number)], session).first
        }
    }

    /// What closing a follow-up did.
    enum CloseOutcome: Sendable, Equatable {
        case closed(FollowUp)
        case alreadyClosed(FollowUp)
        case unknown
    }

    /// Closes follow-up `id` with the department's note.
    func closeFollowUp(id: Int64, note: String, at: Int64) throws(SQLiteError) -> CloseOutcome {
        try database.transaction { session throws(SQLiteError) -> CloseOutcome in
            guard var followUp = try followUps("WHERE id = ?1", [.integer(id)], session).first else {
                return .unknown
            }
            guard followUp.closedAt == nil else { return .alreadyClosed(followUp) }
            try session.run(
                "UPDATE gateway_case_followup SET closed_at = ?2, note = ?3 WHERE id = ?1",
                [.integer(id), .integer(at), try sealed(note, context: Self.followUpContext(id))])
            followUp.closedAt = at
            followUp.note = note
            return .closed(followUp)
        }
    }

    /// The associated data a rating's comment is sealed with: a value copied to another row
    /// does not open there.
    static func ratingContext(_ city: String, _ number: String) -> String { "rating:\(city):\(number)" }
    static func followUpContext(_ id: Int64) -> String { "followup:\(id)" }

    private func rating(_ city: String, _ number: String, _ session: Session) throws(SQLiteError) -> Rating? {
        try session.query(
            "SELECT level, comment, rated_at FROM gateway_case_rating WHERE city = ?1 AND number = ?2",
            [.text(city), .text(number)]
        ) { row -> Rating? in
            RatingLevel(rawValue: Int(row.integer(0))).map {
                Rating(
                    level: $0, comment: opened(row.text(1), context: Self.ratingContext(city, number)),
                    ratedAt: row.integer(2))
            }
        }.first ?? nil
    }

    private func followUps(_ clause: String, _ values: [SQLValue], _ session: Session) throws(SQLiteError)
        -> [FollowUp]
    {
        try session.query(
            "SELECT id, city, number, department, opened_at, closed_at, note FROM gateway_case_followup \(clause)",
            values
        ) { row in
            FollowUp(
                id: row.integer(0), city: row.text(1) ?? "", number: row.text(2) ?? "", department: row.text(3) ?? "",
                openedAt: row.integer(4), closedAt: row.text(5) == nil ? nil : row.integer(5),
                note: opened(row.text(6), context: Self.followUpContext(row.integer(0))))
        }
    }
}
