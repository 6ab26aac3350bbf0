import CityGate
import Foundation
import TestSupport
import Testing

/// Working-day deadlines over the real 2026 calendar (国办发明电〔2025〕 2026年部分节假日安排, as
/// the sample cities list it): the National Day week with its make-up Sunday and Saturday, the
/// Spring Festival's nine days with two make-up Saturdays, the office day's cut-off, and dates
/// from their parts.
struct WorkingCalendarTests {
    /// Hangzhou's calendar, as loaded from the sample tree.
    static func hangzhou() throws -> WorkingCalendar {
        let tree = ExternalProcess.packageRoot.appendingPathComponent("manifests").path
        return try #require(try ManifestSet.load(directory: tree, environment: [:]).get().cities["330100"]).calendar
    }

    /// Unix seconds of a China Standard Time wall-clock time.
    static func cst(_ text: String) throws -> Int64 {
        let formatter = ISO8601DateFormatter()
        return Int64(try #require(formatter.date(from: text + "+08:00")).timeIntervalSince1970)
    }

    struct Case: Sendable, CustomStringConvertible {
        let received: String
        let days: Int
        let countsFrom: String
        let due: String
        var description: String { "\(received) + \(days)" }
    }

    static let cases: [Case] = [
        // A plain week: received Monday morning, 3 days → Thursday.
        Case(received: "2026-03-02T09:00:00", days: 3, countsFrom: "2026-03-02", due: "2026-03-05"),
        // Friday: the weekend is skipped.
        Case(received: "2026-03-06T10:00:00", days: 1, countsFrom: "2026-03-06", due: "2026-03-09"),
        // 0 days (即办件): due the day it counts from.
        Case(received: "2026-03-06T10:00:00", days: 0, countsFrom: "2026-03-06", due: "2026-03-06"),
        // At the cut-off exactly, or after it: the next working day.
        Case(received: "2026-03-06T17:00:00", days: 0, countsFrom: "2026-03-09", due: "2026-03-09"),
        Case(received: "2026-03-06T16:59:59", days: 0, countsFrom: "2026-03-06", due: "2026-03-06"),
        // National Day: received the last working morning before, 1 day → the first day back.
        Case(received: "2026-09-30T10:00:00", days: 1, countsFrom: "2026-09-30", due: "2026-10-08"),
        // … after hours: counts from Thursday the 8th; 2 days → Saturday the 10th, a make-up workday.
        Case(received: "2026-09-30T18:30:00", days: 2, countsFrom: "2026-10-08", due: "2026-10-10"),
        // Received during the holiday: counts from the 8th.
        Case(received: "2026-10-03T11:00:00", days: 5, countsFrom: "2026-10-08", due: "2026-10-14"),
        // Sunday 20 September is worked: a case received then counts from that day.
        Case(received: "2026-09-20T09:00:00", days: 1, countsFrom: "2026-09-20", due: "2026-09-21"),
        // Saturday 19 September is not: counts from the make-up Sunday.
        Case(received: "2026-09-19T09:00:00", days: 0, countsFrom: "2026-09-20", due: "2026-09-20"),
        // Mid-Autumn (25–27 Sep) then National Day: 7 working days from 21 September.
        Case(received: "2026-09-21T09:00:00", days: 7, countsFrom: "2026-09-21", due: "2026-10-08"),
        // Spring Festival: Saturday 14 Feb is worked, 15–23 are off, 28 Feb is worked.
        Case(received: "2026-02-13T09:00:00", days: 1, countsFrom: "2026-02-13", due: "2026-02-14"),
        Case(received: "2026-02-13T09:00:00", days: 2, countsFrom: "2026-02-13", due: "2026-02-24"),
        Case(received: "2026-02-24T09:00:00", days: 4, countsFrom: "2026-02-24", due: "2026-02-28"),
        // Labour Day (1–5 May) and its make-up Saturday the 9th.
        Case(received: "2026-04-30T16:00:00", days: 4, countsFrom: "2026-04-30", due: "2026-05-09"),
        // New Year: 1–3 January off, Sunday the 4th worked.
        Case(received: "2025-12-31T17:30:00", days: 1, countsFrom: "2026-01-04", due: "2026-01-05"),
        // The legal 20 working days of an administrative licence (行政许可法 第四十二条).
        Case(received: "2026-09-14T09:00:00", days: 20, countsFrom: "2026-09-14", due: "2026-10-16"),
    ]

    @Test(arguments: cases)
    func deadlinesOverThe2026Calendar(_ testCase: Case) throws {
        let calendar = try Self.hangzhou()
        let received = try Self.cst(testCase.received)
        let deadlines = calendar.deadlines(receivedAt: received, legalDays: testCase.days, promisedDays: testCase.days)
        #expect(deadlines.countsFrom.description == testCase.countsFrom)
        #expect(deadlines.promisedBy.description == testCase.due)
        #expect(deadlines.legalBy == deadlines.promisedBy)
    }

    @Test
    func theCutOffIsTheCitySetting() throws {
        var calendar = try Self.hangzhou()
        calendar.cutoffMinutes = 18 * 60
        #expect(calendar.receiptDay(at: try Self.cst("2026-03-06T17:30:00")).description == "2026-03-06")
        calendar.cutoffMinutes = 12 * 60
        #expect(calendar.receiptDay(at: try Self.cst("2026-03-06T12:00:00")).description == "2026-03-09")
    }

    @Test
    func everyDayOf2026IsClassifiedAsTheNoticeSays() throws {
        let calendar = try Self.hangzhou()
        var offWeekdays = 0
        var workedWeekends = 0
        var day = try #require(CivilDate("2026-01-01"))
        while day.year == 2026 {
            let weekend = day.weekday >= 6
            if weekend && calendar.isWorkingDay(day) { workedWeekends += 1 }
            if !weekend && !calendar.isWorkingDay(day) { offWeekdays += 1 }
            day = day.adding(days: 1)
        }
        // 1–2 Jan, 16–20 and 23 Feb, 6 Apr, 1 and 4–5 May, 19 Jun, 25 Sep, 1–2 and 5–7 Oct.
        #expect(offWeekdays == 19)
        // 4 Jan, 14 and 28 Feb, 9 May, 20 Sep, 10 Oct.
        #expect(workedWeekends == 6)
    }

    @Test(arguments: [
        ("1970-01-01", 0, 4), ("2026-10-01", 20_727, 4), ("2026-10-10", 20_736, 6), ("2000-02-29", 11_016, 2),
        ("1969-12-31", -1, 3), ("2100-03-01", 47_541, 1),
    ])
    func civilDatesConvertBothWays(text: String, days: Int, weekday: Int) throws {
        let date = try #require(CivilDate(text))
        #expect(date.daysSinceEpoch == days)
        #expect(CivilDate(daysSinceEpoch: days) == date)
        #expect(date.weekday == weekday)
        #expect(date.description == text)
    }

    @Test(arguments: [
        "2026-02-29", "2026-13-01", "2026-10-32", "2026-00-10", "26-10-01", "2026/10/01", "2026-1-01", "",
    ])
    func notCalendarDates(text: String) {
        #expect(CivilDate(text) == nil)
    }
}
