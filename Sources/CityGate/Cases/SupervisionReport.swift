import Foundation
import Store

/// The monthly efficiency-supervision report of one city (效能监督; docs/cases.md, "The report"):
/// per department, what came in, what was finished and how fast in working days, what is overdue,
/// and how citizens rated it.
///
/// Figures are as of the month's end (or now, for the current month), from the times recorded:
/// a past month's report does not change when later months happen.
struct SupervisionReport: Sendable, Equatable {
    /// One department's figures.
    struct Row: Sendable, Equatable {
        var department: String
        var departmentName: String
        /// Cases received in the month.
        var received = 0
        /// Cases finished (办结) in the month.
        var finished = 0
        /// Of those, finished on or before their promised date.
        var finishedWithinPromised = 0
        /// Cases refused (不予受理) in the month.
        var refused = 0
        /// Open at the report's time and past their legal date.
        var overdue = 0
        /// Open at the report's time.
        var open = 0
        /// Working days from receipt to 办结, of the cases finished in the month.
        var workingDays: [Int] = []
        /// Ratings given in the month, per level.
        var ratings: [RatingLevel: Int] = [:]
        /// Follow-ups open at the report's time.
        var openFollowUps = 0

        /// The mean of ``workingDays`` (nil: none finished).
        var averageWorkingDays: Double? {
            workingDays.isEmpty ? nil : Double(workingDays.reduce(0, +)) / Double(workingDays.count)
        }

        /// The 90th percentile of ``workingDays`` by nearest rank (the smallest value at or above
        /// 90 % of them; nil: none finished).
        var p90WorkingDays: Int? {
            guard !workingDays.isEmpty else { return nil }
            let sorted = workingDays.sorted()
            let rank = (sorted.count * 9 + 9) / 10
            return sorted[max(0, rank - 1)]
        }

        /// Ratings in all.
        var ratingCount: Int { ratings.values.reduce(0, +) }

        /// The share of ratings that are 非常满意, 满意 or 基本满意 (nil: no ratings).
        var satisfaction: Double? {
            let total = ratingCount
            guard total > 0 else { return nil }
            let good = RatingLevel.allCases.filter { !$0.isPoor }.reduce(0) { $0 + (ratings[$1] ?? 0) }
            return Double(good) / Double(total)
        }
    }

    var city: String
    var cityName: String
    /// `YYYY-MM`.
    var month: String
    /// The instant the figures are taken at (Unix seconds): the month's end (exclusive), or now.
    var asOf: Int64
    var rows: [Row]

    /// The month's first instant and the next month's, in China Standard Time (Unix seconds).
    static func bounds(year: Int, month: Int) -> (start: Int64, end: Int64)? {
        guard let first = CivilDate(year: year, month: month, day: 1),
            let next = CivilDate(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1)
        else { return nil }
        let offset = WorkingCalendar.utcOffsetSeconds
        return (Int64(first.daysSinceEpoch) * 86_400 - offset, Int64(next.daysSinceEpoch) * 86_400 - offset)
    }

    /// The local date of an instant.
    static func date(_ unixSeconds: Int64) -> CivilDate {
        let local = unixSeconds + WorkingCalendar.utcOffsetSeconds
        return CivilDate(daysSinceEpoch: Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400))
    }

    /// Builds the report of `city` for `year`-`month` at `now`.
    static func build(
        store: any CaseKeeping, city: CityConfiguration, departmentNames: [String: String], year: Int, month: Int,
        now: Int64
    ) async throws -> SupervisionReport? {
        guard let (start, end) = bounds(year: year, month: month) else { return nil }
        // Exclusive: for the current month, everything up to and including this second.
        let asOf = min(end, max(start, now + 1))
        // The last day the figures cover: a case is overdue once that day is past its legal date.
        let asOfDay = date(asOf - 1)
        var rows: [String: Row] = [:]
        func row(_ department: String) -> Row {
            rows[department] ?? Row(department: department, departmentName: departmentNames[department] ?? department)
        }
        let figures = try await store.supervisionFigures(city: city.code, start: start, asOf: asOf)
        for record in figures.cases {
            var entry = row(record.department)
            if record.receivedAt >= start { entry.received += 1 }
            if let closedAt = record.closedAt, closedAt >= start, closedAt < asOf {
                if record.stage == .finished {
                    entry.finished += 1
                    let finishedOn = date(closedAt)
                    if finishedOn <= record.deadlines.promisedBy { entry.finishedWithinPromised += 1 }
                    entry.workingDays.append(
                        city.calendar.workingDays(after: record.deadlines.countsFrom, through: finishedOn))
                } else {
                    entry.refused += 1
                }
            }
            if record.closedAt.map({ $0 >= asOf }) ?? true {
                entry.open += 1
                if asOfDay > record.deadlines.legalBy { entry.overdue += 1 }
            }
            rows[record.department] = entry
        }
        for rating in figures.ratings {
            guard let level = rating.level else { continue }
            var entry = row(rating.department)
            entry.ratings[level, default: 0] += 1
            rows[rating.department] = entry
        }
        for followUp in figures.followUps {
            var entry = row(followUp.department)
            entry.openFollowUps = followUp.count
            rows[followUp.department] = entry
        }
        return SupervisionReport(
            city: city.code, cityName: city.nameZh, month: String(format: "%04d-%02d", year, month),
            asOf: min(end, now),
            rows: rows.values.sorted { $0.department < $1.department })
    }
}
