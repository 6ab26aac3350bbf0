import Foundation
import TestSupport
import Testing

@testable import CityGate

/// A month of synthetic cases in Hangzhou (November 2026, with cases carried over from October and
/// finished in December), through the case store, against the report's figures computed here
/// independently from the generated data.
struct SupervisionReportTests {
    /// One generated case and what happened to it.
    struct Synthetic {
        var number: String
        var department: String
        var receivedAt: Int64
        var deadlines: WorkingCalendar.Deadlines
        var closedAt: Int64?
        var closing: ProgressStage?
        var rating: (level: RatingLevel, at: Int64)?
        var followUpClosedAt: Int64?
    }

    /// A small deterministic generator (the test must not change from run to run).
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let departments = ["D-APPROVALS", "D-HRSS", "D-POLICE"]

    static func generate(calendar: WorkingCalendar) throws -> [Synthetic] {
        var random = Generator(state: 20_261_130)
        let october15 = try WorkingCalendarTests.cst("2026-10-15T00:00:00")
        var cases: [Synthetic] = []
        for index in 0..<240 {
            let received = october15 + Int64(random.next(50 * 86_400))
            let department = departments[random.next(departments.count)]
            let legal = [5, 10, 20][random.next(3)]
            let deadlines = calendar.deadlines(receivedAt: received, legalDays: legal, promisedDays: legal / 2)
            var synthetic = Synthetic(
                number: String(format: "330100-2026-%06d", index), department: department, receivedAt: received,
                deadlines: deadlines)
            let fate = random.next(10)
            if fate < 6 {
                synthetic.closing = .finished
                synthetic.closedAt = received + Int64(random.next(30 * 86_400)) + 60
                if random.next(3) > 0 {
                    let level = RatingLevel(rawValue: 1 + random.next(5)) ?? .fair
                    let ratedAt = (synthetic.closedAt ?? 0) + Int64(random.next(5 * 86_400)) + 1
                    synthetic.rating = (level, ratedAt)
                    if level.isPoor && random.next(2) == 0 {
                        synthetic.followUpClosedAt = ratedAt + Int64(random.next(10 * 86_400)) + 1
                    }
                }
            } else if fate < 7 {
                synthetic.closing = .refused
                synthetic.closedAt = received + Int64(random.next(5 * 86_400)) + 60
            }
            cases.append(synthetic)
        }
        return cases
    }

    /// The November figures per department, computed from the synthetic data alone.
    static func expected(_ cases: [Synthetic], calendar: WorkingCalendar, start: Int64, end: Int64)
        -> [String: SupervisionReport.Row]
    {
        var rows: [String: SupervisionReport.Row] = [:]
        let lastDay = SupervisionReport.date(end - 1)
        for item in cases {
            var row = rows[item.department] ?? SupervisionReport.Row(department: item.department, departmentName: "")
            if item.receivedAt >= start && item.receivedAt < end { row.received += 1 }
            if let closedAt = item.closedAt, closedAt >= start, closedAt < end {
                if item.closing == .finished {
                    row.finished += 1
                    let day = SupervisionReport.date(closedAt)
                    if day <= item.deadlines.promisedBy { row.finishedWithinPromised += 1 }
                    // Working days after the receipt day, through the finishing day, counted here.
                    var count = 0
                    var cursor = item.deadlines.countsFrom
                    while cursor < day {
                        cursor = cursor.adding(days: 1)
                        if calendar.isWorkingDay(cursor) { count += 1 }
                    }
                    row.workingDays.append(count)
                } else {
                    row.refused += 1
                }
            }
            let openAtEnd = item.receivedAt < end && (item.closedAt.map { $0 >= end } ?? true)
            if openAtEnd {
                row.open += 1
                if lastDay > item.deadlines.legalBy { row.overdue += 1 }
            }
            if let rating = item.rating, rating.at >= start, rating.at < end {
                row.ratings[rating.level, default: 0] += 1
            }
            if let rating = item.rating, rating.level.isPoor, rating.at < end,
                item.followUpClosedAt.map({ $0 >= end }) ?? true
            {
                row.openFollowUps += 1
            }
            rows[item.department] = row
        }
        return rows
    }

    @Test
    func aMonthOfCasesMatchesFiguresComputedIndependently() async throws {
        let calendar = try WorkingCalendarTests.hangzhou()
        let city = try #require(
            try ManifestSet.load(
                directory: ExternalProcess.packageRoot.appendingPathComponent("manifests").path, environment: [:]
            ).get().cities["330100"])
        let store = try CaseLifecycleTests.store()
        let cases = try Self.generate(calendar: calendar)
        for item in cases {
            var record = CaseLifecycleTests.record(
                item.number, receivedAt: item.receivedAt, department: item.department)
            record.deadlines = item.deadlines
            try store.record(record)
            if let closing = item.closing, let closedAt = item.closedAt {
                _ = try store.recordProgress(
                    CaseLifecycleTests.report(item.number, "open", .accepted, at: item.receivedAt + 30),
                    receivedAt: item.receivedAt + 30)
                _ = try store.recordProgress(
                    CaseLifecycleTests.report(item.number, "close", closing, at: closedAt), receivedAt: closedAt)
            }
            if let rating = item.rating {
                let outcome = try store.rate(
                    city: "330100", number: item.number, level: rating.level, comment: nil, at: rating.at)
                if case .rated(_, let followUp?) = outcome, let closedAt = item.followUpClosedAt {
                    _ = try store.closeFollowUp(id: followUp.id, note: "已整改", at: closedAt)
                }
            }
        }
        let (start, end) = try #require(SupervisionReport.bounds(year: 2026, month: 11))
        #expect(start == (try WorkingCalendarTests.cst("2026-11-01T00:00:00")))
        #expect(end == (try WorkingCalendarTests.cst("2026-12-01T00:00:00")))
        let report = try #require(
            try await SupervisionReport.build(
                store: store, city: city, departmentNames: ["D-HRSS": "市人社局"], year: 2026, month: 11,
                now: end + 40 * 86_400))
        let expected = Self.expected(cases, calendar: calendar, start: start, end: end)
        #expect(report.rows.map(\.department) == expected.keys.sorted())
        #expect(report.asOf == end)
        for row in report.rows {
            let want = try #require(expected[row.department])
            #expect(row.received == want.received, "\(row.department) received")
            #expect(row.finished == want.finished, "\(row.department) finished")
            #expect(row.finishedWithinPromised == want.finishedWithinPromised, "\(row.department) within promised")
            #expect(row.refused == want.refused, "\(row.department) refused")
            #expect(row.open == want.open, "\(row.department) open")
            #expect(row.overdue == want.overdue, "\(row.department) overdue")
            #expect(row.workingDays.sorted() == want.workingDays.sorted(), "\(row.department) working days")
            #expect(row.ratings == want.ratings.filter { $0.value > 0 }, "\(row.department) ratings")
            #expect(row.openFollowUps == want.openFollowUps, "\(row.department) follow-ups")
            // Aggregates, from the expected list by their definitions.
            let days = want.workingDays.sorted()
            if !days.isEmpty {
                #expect(row.averageWorkingDays == Double(days.reduce(0, +)) / Double(days.count))
                let rank = Int((Double(days.count) * 0.9).rounded(.up))
                #expect(row.p90WorkingDays == days[rank - 1])
            }
            let total = want.ratings.values.reduce(0, +)
            if total > 0 {
                let good =
                    (want.ratings[.verySatisfied] ?? 0) + (want.ratings[.satisfied] ?? 0) + (want.ratings[.fair] ?? 0)
                #expect(row.satisfaction == Double(good) / Double(total))
            }
        }
        #expect(report.rows.first { $0.department == "D-HRSS" }?.departmentName == "市人社局")
        // The generator exercised every figure.
        let all = expected.values
        #expect(all.reduce(0) { $0 + $1.overdue } > 0)
        #expect(all.reduce(0) { $0 + $1.refused } > 0)
        #expect(all.reduce(0) { $0 + $1.openFollowUps } > 0)
        #expect(all.reduce(0) { $0 + $1.finished - $1.finishedWithinPromised } > 0)

        // A past month does not change as time goes on.
        let later = try await SupervisionReport.build(
            store: store, city: city, departmentNames: ["D-HRSS": "市人社局"], year: 2026, month: 11,
            now: end + 400 * 86_400)
        #expect(later == report)
    }

    @Test
    func csvHasABomCrlfAndNoFormulasAndTheHTMLNoScripts() throws {
        var row = SupervisionReport.Row(department: "=HYPERLINK(\"x\")", departmentName: "市城市管理局, 审批科")
        row.received = 3
        row.finished = 2
        row.workingDays = [1, 4]
        row.ratings = [.satisfied: 1, .dissatisfied: 1]
        let report = SupervisionReport(
            city: "330100", cityName: "杭州市", month: "2026-11", asOf: 1_796_000_000, rows: [row])
        let csv = report.csv()
        #expect(Array(csv.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: csv.dropFirst(3), as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        #expect(lines.count == 3 && lines[2].isEmpty, "header, one row, final CRLF")
        #expect(lines[0].hasPrefix("部门编码 (department),"))
        #expect(lines[1].hasPrefix("\"'=HYPERLINK(\"\"x\"\")\",\"市城市管理局, 审批科\",3,2,"))
        #expect(lines[1].contains(",2.50,4,"), "average 2.50, p90 4")
        #expect(lines[1].contains(",0.5000,"), "satisfaction 1 of 2")
        let html = report.html()
        #expect(html.contains("<svg"))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(!html.contains("src="))
        #expect(html.contains("=HYPERLINK(&quot;x&quot;)"), "names are escaped")
    }
}
