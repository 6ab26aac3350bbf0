import Cryptography
import Foundation
import HTTPServer
import Store
import Synchronization
import Testing

@testable import CityGate

/// The case store's lifecycle rules, in process on a real SQLite file: progress reports ordered by
/// their stage time and idempotent on the backend's event id, closing stages, one rating per
/// finished case, follow-ups of poor ratings.
struct CaseLifecycleTests {
    /// A fresh store in a temporary directory.
    static func store() throws -> CaseStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cases-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try CaseStore(database: try Database(path: directory.appendingPathComponent("gateway.db").path))
    }

    static func record(
        _ number: String, receivedAt: Int64, department: String = "D1", subject: String = "c_1",
        calendar: WorkingCalendar = WorkingCalendar(), legalDays: Int = 20, promisedDays: Int = 10
    ) -> CaseStore.Record {
        CaseStore.Record(
            city: "330100", number: number, service: "permit.application", department: department,
            subject: subject, partner: "webhooks-demo", requestId: "r-\(number)", receivedAt: receivedAt,
            deadlines: calendar.deadlines(receivedAt: receivedAt, legalDays: legalDays, promisedDays: promisedDays))
    }

    static func report(_ number: String, _ id: String, _ stage: ProgressStage, at: Int64, note: String? = nil)
        -> CaseStore.ProgressReport
    {
        CaseStore.ProgressReport(city: "330100", number: number, eventId: id, stage: stage, at: at, note: note)
    }

    /// The stage and entry a recorded outcome carries (nil for any other outcome).
    static func recorded(_ outcome: CaseStore.ProgressOutcome) -> (CaseStore.ProgressEntry, CaseStore.Record)? {
        if case .recorded(let entry, let record) = outcome { return (entry, record) }
        return nil
    }

    @Test
    func reportsAreOrderedByStageTimeAndIdempotentOnTheirId() throws {
        let store = try Self.store()
        let base: Int64 = 1_796_000_000
        try store.record(Self.record("N-1", receivedAt: base))

        let first = try #require(
            Self.recorded(
                try store.recordProgress(Self.report("N-1", "e1", .accepted, at: base + 10), receivedAt: base + 11)))
        #expect(first.0.sequence == 1)
        #expect(first.1.stage == .accepted)

        // The same report again: a duplicate, nothing changes.
        let again = try store.recordProgress(Self.report("N-1", "e1", .accepted, at: base + 10), receivedAt: base + 20)
        guard case .duplicate(let entry, _) = again else {
            Issue.record("expected a duplicate, got \(again)")
            return
        }
        #expect(entry.receivedAt == base + 11, "the first receipt is kept")
        // The same id with other content is a conflict.
        #expect(
            try store.recordProgress(Self.report("N-1", "e1", .review, at: base + 10), receivedAt: base + 21)
                == .conflict(entry))
        #expect(
            try store.recordProgress(
                Self.report("N-1", "e1", .accepted, at: base + 10, note: "x"), receivedAt: base + 21)
                == .conflict(entry))

        // Out of order: review (t+30) arrives before supplement (t+20); the case stays at review.
        let review = try #require(
            Self.recorded(
                try store.recordProgress(Self.report("N-1", "e3", .review, at: base + 30), receivedAt: base + 31)))
        #expect(review.1.stage == .review)
        let late = try #require(
            Self.recorded(
                try store.recordProgress(Self.report("N-1", "e2", .supplement, at: base + 20), receivedAt: base + 32)))
        #expect(late.0.sequence == 3)
        #expect(late.1.stage == .review, "a late report does not move the case back")
        #expect(try store.history(city: "330100", number: "N-1").map(\.stage) == [.accepted, .supplement, .review])

        // Finished: closed at its time; a later stage cannot follow, an earlier one is history only.
        let finished = try #require(
            Self.recorded(
                try store.recordProgress(Self.report("N-1", "e4", .finished, at: base + 40), receivedAt: base + 41)))
        #expect(finished.1.closedAt == base + 40)
        guard
            case .closed = try store.recordProgress(
                Self.report("N-1", "e5", .review, at: base + 50), receivedAt: base + 51)
        else {
            Issue.record("a stage after the close must be refused")
            return
        }
        let earlier = try #require(
            Self.recorded(
                try store.recordProgress(Self.report("N-1", "e6", .review, at: base + 35), receivedAt: base + 52)))
        #expect(earlier.1.stage == .finished)
        #expect(earlier.1.closedAt == base + 40)
        #expect(try store.find(city: "330100", number: "N-1")?.stage == .finished)

        #expect(
            try store.recordProgress(Self.report("N-404", "e1", .accepted, at: base), receivedAt: base) == .unknownCase)
        // Another city's case of the same number is another case.
        var other = Self.report("N-1", "e1", .accepted, at: base)
        other.city = "440300"
        #expect(try store.recordProgress(other, receivedAt: base) == .unknownCase)
    }

    @Test
    func aFinishedCaseIsRatedOnceAndAPoorRatingOpensAFollowUp() throws {
        let store = try Self.store()
        let base: Int64 = 1_796_000_000
        for number in ["R-1", "R-2", "R-3"] { try store.record(Self.record(number, receivedAt: base)) }
        #expect(
            try store.rate(city: "330100", number: "R-1", level: .satisfied, comment: nil, at: base) == .notFinished)
        _ = try store.recordProgress(Self.report("R-1", "e1", .finished, at: base + 5), receivedAt: base + 5)
        _ = try store.recordProgress(Self.report("R-2", "e1", .finished, at: base + 5), receivedAt: base + 5)
        _ = try store.recordProgress(Self.report("R-3", "e1", .refused, at: base + 5), receivedAt: base + 5)
        #expect(
            try store.rate(city: "330100", number: "R-3", level: .satisfied, comment: nil, at: base + 6)
                == .notFinished,
            "a refused case is not rated (好差评 rates what was done)")

        let good = try store.rate(city: "330100", number: "R-1", level: .satisfied, comment: "快", at: base + 10)
        #expect(good == .rated(CaseStore.Rating(level: .satisfied, comment: "快", ratedAt: base + 10), followUp: nil))
        #expect(
            try store.rate(city: "330100", number: "R-1", level: .verySatisfied, comment: nil, at: base + 11)
                == .alreadyRated(CaseStore.Rating(level: .satisfied, comment: "快", ratedAt: base + 10)))

        guard
            case .rated(_, let followUp?) = try store.rate(
                city: "330100", number: "R-2", level: .veryDissatisfied, comment: nil, at: base + 12)
        else {
            Issue.record("a poor rating opens a follow-up")
            return
        }
        #expect(followUp.department == "D1")
        #expect(try store.followUps(city: "330100", openOnly: true).map(\.id) == [followUp.id])
        guard case .closed(let closed) = try store.closeFollowUp(id: followUp.id, note: "已回访", at: base + 100) else {
            Issue.record("the follow-up closes")
            return
        }
        #expect(closed.note == "已回访")
        #expect(closed.closedAt == base + 100)
        #expect(try store.followUps(city: "330100", openOnly: true).isEmpty)
        #expect(try store.followUps(city: nil, openOnly: false).count == 1)
        #expect(try store.closeFollowUp(id: followUp.id, note: "again", at: base + 101) == .alreadyClosed(closed))
        #expect(try store.closeFollowUp(id: 999, note: "x", at: base) == .unknown)
        #expect(try store.rate(city: "330100", number: "R-404", level: .fair, comment: nil, at: base) == .unknownCase)
    }

    /// Every malformed progress report is refused with a problem naming the field.
    static let badReports: [(body: String, names: String)] = [
        ("", "invalid-json"),
        ("[]", "invalid-json"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\"", "invalid-json"),
        ("{\"stage\":\"accepted\"}", "$.id"),
        ("{\"id\":\"\",\"stage\":\"accepted\"}", "$.id"),
        ("{\"id\":7,\"stage\":\"accepted\"}", "$.id"),
        ("{\"id\":\"has space\",\"stage\":\"accepted\"}", "$.id"),
        ("{\"id\":\"\(String(repeating: "x", count: 129))\",\"stage\":\"accepted\"}", "$.id"),
        ("{\"id\":\"e1\"}", "$.stage"),
        ("{\"id\":\"e1\",\"stage\":\"done\"}", "$.stage"),
        ("{\"id\":\"e1\",\"stage\":3}", "$.stage"),
        ("{\"id\":\"e1\",\"stage\":\"ACCEPTED\"}", "$.stage"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"at\":\"2026-12-03\"}", "$.at"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"at\":\"2026-12-03 10:00:00\"}", "$.at"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"at\":\"2026-13-03T10:00:00Z\"}", "$.at"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"at\":\"2026-12-03T25:00:00Z\"}", "$.at"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"at\":\"2026-12-03T10:00:00+0800\"}", "$.at"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"at\":1796000000}", "$.at"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"at\":\"2099-01-01T00:00:00Z\"}", "$.at"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"note\":5}", "$.note"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"note\":\"\(String(repeating: "长", count: 501))\"}", "$.note"),
        ("{\"id\":\"e1\",\"stage\":\"accepted\",\"applicant\":\"x\"}", "is not a field"),
    ]

    @Test(arguments: badReports)
    func malformedReportsAreRefusedNamingTheField(body: String, names: String) throws {
        Self.expectRefusal(body, naming: names) { bytes throws(ProblemError) in
            _ = try CaseProgressRoute.report(bytes, city: "330100", number: "N-1", now: 1_796_000_000)
        }
    }

    /// `parse` refuses `body` with a problem whose slug, detail or `errors` contains `names`.
    static func expectRefusal(_ body: String, naming names: String, _ parse: ([UInt8]) throws(ProblemError) -> Void) {
        do {
            try parse(Array(body.utf8))
            Issue.record("accepted: \(body)")
        } catch {
            let problem = error.problem(requestId: "r")
            let text = problem.detail + (problem.jsonExtensions["errors"] ?? "") + problem.slug
            #expect(text.contains(names), "\(text)")
        }
    }

    @Test
    func wellFormedReportsAreRead() throws {
        let now: Int64 = 1_796_300_000
        let plain = try CaseProgressRoute.report(
            Array(#"{"id":"evt-9","stage":"finished","note":"已办结"}"#.utf8), city: "330100", number: "N", now: now)
        #expect(plain == Self.report("N", "evt-9", .finished, at: now, note: "已办结"))
        let chinese = try CaseProgressRoute.report(
            Array(#"{"id":"e","stage":"补正","at":"2026-12-03T10:15:00.250+08:00"}"#.utf8), city: "330100",
            number: "N", now: now)
        #expect(chinese.stage == .supplement)
        #expect(chinese.at == 1_796_264_100)
        let utc = try CaseProgressRoute.report(
            Array(#"{"id":"e","stage":"review","at":"2026-12-03T02:15:00Z","note":""}"#.utf8), city: "330100",
            number: "N", now: now)
        #expect(utc.at == 1_796_264_100)
        #expect(utc.note == nil, "an empty note is no note")
    }

    static let badRatings: [(body: String, names: String)] = [
        ("", "invalid-json"),
        ("\"satisfied\"", "invalid-json"),
        ("{}", "$.level"),
        ("{\"level\":\"great\"}", "$.level"),
        ("{\"level\":0}", "$.level"),
        ("{\"level\":6}", "$.level"),
        ("{\"level\":2.5}", "$.level"),
        ("{\"level\":true}", "$.level"),
        ("{\"level\":\"satisfied\",\"comment\":1}", "$.comment"),
        ("{\"level\":\"satisfied\",\"comment\":\"\(String(repeating: "好", count: 501))\"}", "$.comment"),
        ("{\"level\":\"satisfied\",\"stars\":5}", "is not a field"),
    ]

    @Test(arguments: badRatings)
    func malformedRatingsAreRefusedNamingTheField(body: String, names: String) throws {
        Self.expectRefusal(body, naming: names) { bytes throws(ProblemError) in _ = try CaseRatingStage.rating(bytes) }
    }

    @Test
    func ratingsAreReadByNameOrNumberAndCommentsAreMasked() throws {
        #expect(try CaseRatingStage.rating(Array(#"{"level":"基本满意"}"#.utf8)).0 == .fair)
        #expect(try CaseRatingStage.rating(Array(#"{"level":5}"#.utf8)).0 == .veryDissatisfied)
        let (level, comment) = try CaseRatingStage.rating(
            Array(#"{"level":"dissatisfied","comment":"身份证33010619900101123X，电话13800138000，等太久"}"#.utf8))
        #expect(level == .dissatisfied)
        let masked = try #require(comment)
        #expect(!masked.contains("33010619900101123X"))
        #expect(!masked.contains("13800138000"))
        #expect(masked.contains("等太久"))
    }

    @Test(arguments: [
        ("2026-12-03T10:15:00+08:00", Int64(1_796_264_100)), ("2026-12-03T02:15:00Z", 1_796_264_100),
        ("2026-12-03t02:15:00z", 1_796_264_100), ("2026-12-02T21:15:00-05:00", 1_796_264_100),
        ("2026-12-03T02:15:00.999Z", 1_796_264_100),
    ])
    func rfc3339TimesParse(text: String, expected: Int64) {
        #expect(PushClock.parse(text) == expected)
        #expect(PushClock.parse(PushClock.rfc3339(expected)) == expected)
    }

    @Test(arguments: [
        "", "2026-12-03", "2026-12-03T10:15:00", "2026-12-03T10:15Z", "2026-12-03T10:15:00.Z",
        "2026-12-03T10:15:00+8:00",
        "2026-12-03T10:15:00+08:00x", "2026-02-30T10:15:00Z", "2026-12-03T10:60:00Z", "2026-12-03T10:15:00+24:00",
        "２０２６-12-03T10:15:00Z",
    ])
    func malformedTimesDoNotParse(text: String) {
        #expect(PushClock.parse(text) == nil)
    }
}

/// Comments and follow-up notes sealed at rest (`dataEncryption`): with SM4-GCM or AES-256-GCM,
/// never in clear in the SQLite file, readable through key rotation, unreadable without the key
/// or in another row.
struct DataEncryptionTests {
    static func cipher(_ algorithm: DataCipher.Algorithm, _ ids: [String]) throws -> DataCipher {
        DataCipher(
            algorithm: algorithm,
            keys: try ids.map {
                DataCipher.Key(
                    id: $0, bytes: Array(try Digest.sha256.hash(Array($0.utf8)).prefix(algorithm == .sm4GCM ? 16 : 32)))
            })
    }

    /// The cipher a store reads, switchable as a reload would switch it.
    final class Current: Sendable {
        let cipher: Mutex<DataCipher?>
        init(_ cipher: DataCipher?) { self.cipher = Mutex(cipher) }
    }

    @Test(arguments: DataCipher.Algorithm.allCases)
    func commentsAndNotesAreSealedAtRestAndSurviveRotation(algorithm: DataCipher.Algorithm) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("gateway.db").path
        let current = Current(try Self.cipher(algorithm, ["2026-11"]))
        let store = try CaseStore(database: try Database(path: path)) { current.cipher.withLock { $0 } }
        let base: Int64 = 1_796_000_000
        let comment = "窗口工作人员态度很差，排队两小时"
        for number in ["S-1", "S-2"] {
            try store.record(CaseLifecycleTests.record(number, receivedAt: base))
            _ = try store.recordProgress(
                CaseLifecycleTests.report(number, "e", .finished, at: base + 1), receivedAt: base + 1)
        }
        guard
            case .rated(_, let followUp?) = try store.rate(
                city: "330100", number: "S-1", level: .veryDissatisfied, comment: comment, at: base + 2)
        else {
            Issue.record("a poor rating opens a follow-up")
            return
        }
        _ = try store.closeFollowUp(id: followUp.id, note: "已约谈窗口负责人", at: base + 3)
        try store.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.range(of: Data(comment.utf8)) == nil, "the comment is not in the file in clear")
        #expect(bytes.range(of: Data("已约谈窗口负责人".utf8)) == nil)
        #expect(try store.rating(city: "330100", number: "S-1")?.comment == comment)
        #expect(try store.followUp(city: "330100", number: "S-1")?.note == "已约谈窗口负责人")

        // Rotation: a new key first, the old one still listed; old values open, new ones use the new key.
        current.cipher.withLock { $0 = try? Self.cipher(algorithm, ["2026-12", "2026-11"]) }
        _ = try store.rate(city: "330100", number: "S-2", level: .satisfied, comment: "办得快", at: base + 4)
        #expect(try store.rating(city: "330100", number: "S-1")?.comment == comment)
        #expect(try store.rating(city: "330100", number: "S-2")?.comment == "办得快")
        let stored = try store.database.withConnection { session throws(SQLiteError) in
            try session.query("SELECT comment FROM gateway_case_rating WHERE number = 'S-2'") { $0.text(0) }.first
                ?? nil
        }
        #expect(stored?.hasPrefix("enc:v1:\(algorithm.rawValue):2026-12:") == true)

        // The old key removed: what it sealed no longer opens (nil, never garbage); the new still does.
        current.cipher.withLock { $0 = try? Self.cipher(algorithm, ["2026-12"]) }
        #expect(try store.rating(city: "330100", number: "S-1")?.comment == nil)
        #expect(try store.rating(city: "330100", number: "S-2")?.comment == "办得快")

        // A sealed value copied to another row does not open there.
        try store.database.execute(
            "UPDATE gateway_case_rating SET comment = (SELECT comment FROM gateway_case_rating WHERE number = 'S-2') WHERE number = 'S-1'"
        )
        #expect(try store.rating(city: "330100", number: "S-1")?.comment == nil)
    }

    @Test(arguments: DataCipher.Algorithm.allCases)
    func theIdentityVaultIsSealedUnderTheConfiguredKeyToo(algorithm: DataCipher.Algorithm) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let database = try Database(path: directory.appendingPathComponent("gateway.db").path)
        let current = Current(nil)
        let vault = try IdentityVault(database: database) { current.cipher.withLock { $0 } }
        let salt = Array("a subject salt of some length".utf8)
        // Stored before encryption was configured: still revealed once it is.
        try await vault.store(subject: "c_before", raw: "33010619900101123X", salt: salt, until: .max)
        current.cipher.withLock { $0 = try? Self.cipher(algorithm, ["2026-11"]) }
        #expect(await vault.reveal(subject: "c_before", salt: salt, now: 0) == "33010619900101123X")
        try await vault.store(subject: "c_after", raw: "11010519491231002X", salt: salt, until: .max)
        let stored = try database.withConnection { session throws(SQLiteError) in
            try session.query("SELECT sealed FROM identity WHERE subject = 'c_after'") { $0.blob(0) }.first
        }
        #expect(String(decoding: stored ?? [], as: UTF8.self).hasPrefix("enc:v1:\(algorithm.rawValue):2026-11:"))
        #expect(await vault.reveal(subject: "c_after", salt: salt, now: 0) == "11010519491231002X")
        // Rotation, then the old key removed: what it sealed is no longer revealed.
        current.cipher.withLock { $0 = try? Self.cipher(algorithm, ["2026-12", "2026-11"]) }
        #expect(await vault.reveal(subject: "c_after", salt: salt, now: 0) == "11010519491231002X")
        current.cipher.withLock { $0 = try? Self.cipher(algorithm, ["2026-12"]) }
        #expect(await vault.reveal(subject: "c_after", salt: salt, now: 0) == nil)
        #expect(await vault.reveal(subject: "c_before", salt: salt, now: 0) == "33010619900101123X")
    }

    @Test
    func valuesWrittenBeforeEncryptionStillRead() throws {
        let cipher = try Self.cipher(.sm4GCM, ["k"])
        #expect(try cipher.open("plain text", context: "x") == "plain text")
        let sealed = try cipher.seal("秘密", context: "x")
        #expect(try cipher.open(sealed, context: "x") == "秘密")
        #expect(throws: DataCipher.Unreadable.self) { try cipher.open(sealed, context: "y") }
        #expect(throws: DataCipher.Unreadable.self) { try DataCipher.open(sealed, context: "x", with: nil) }
        for broken in [
            "enc:v1:", "enc:v1:sm4-gcm:k", "enc:v1:rot13:k:AAAA", "enc:v1:sm4-gcm:k:!!!", "enc:v1:sm4-gcm:k:AAAA",
        ] {
            #expect(throws: DataCipher.Unreadable.self) { try cipher.open(broken, context: "x") }
        }
    }
}
