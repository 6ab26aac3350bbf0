/// Where cases, their progress, ratings and follow-ups live: ``CaseStore`` (gateway.db) for one
/// instance, ``SharedCaseStore`` (PostgreSQL) when instances share them — a case opened through
/// one instance takes its progress, rating and supervision through any other.
protocol CaseKeeping: Sendable {
    /// Records a case; a number the city already has keeps its first record.
    func record(_ record: CaseStore.Record) async throws
    /// The case `number` of `city`, if recorded.
    func find(city: String, number: String) async throws -> CaseStore.Record?
    /// Open cases per city and department, and how many are past their legal date on `today`.
    func openCounts(today: CivilDate) async throws -> [CaseStore.OpenCount]
    /// Records a backend's report atomically with the case's current stage.
    func recordProgress(_ report: CaseStore.ProgressReport, receivedAt: Int64) async throws
        -> CaseStore.ProgressOutcome
    /// The case's reports by stage time (ties: order of receipt).
    func history(city: String, number: String) async throws -> [CaseStore.ProgressEntry]
    /// Rates a finished case once; a poor rating opens a follow-up in the same transaction.
    func rate(city: String, number: String, level: RatingLevel, comment: String?, at: Int64) async throws
        -> CaseStore.RatingOutcome
    /// The case's rating, if it has one.
    func rating(city: String, number: String) async throws -> CaseStore.Rating?
    /// Follow-ups, newest first: of one city, and only the open ones when `openOnly`.
    func followUps(city: String?, openOnly: Bool, limit: Int) async throws -> [CaseStore.FollowUp]
    /// The follow-up of a case, if it has one.
    func followUp(city: String, number: String) async throws -> CaseStore.FollowUp?
    /// Closes follow-up `id` with the department's note.
    func closeFollowUp(id: Int64, note: String, at: Int64) async throws -> CaseStore.CloseOutcome
    /// What a month's supervision report counts, for `city`: cases received before `asOf` and
    /// not closed before `start`, ratings given in `start..<asOf`, follow-ups open at `asOf`.
    func supervisionFigures(city: String, start: Int64, asOf: Int64) async throws -> CaseStore.SupervisionFigures
}

extension CaseStore {
    /// Open cases of one department of one city.
    struct OpenCount: Sendable, Equatable {
        var city: String
        var department: String
        var open: Int
        var overdue: Int
    }

    /// The rows a supervision report is computed from.
    struct SupervisionFigures: Sendable {
        var cases: [Record]
        var ratings: [(department: String, level: RatingLevel?)]
        var followUps: [(department: String, count: Int)]
    }
}
