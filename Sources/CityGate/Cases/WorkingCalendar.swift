/// A city's working days and the deadlines counted in them (the case lifecycle's time limits,
/// 办理时限): weekends and the city's holidays are not working days, its make-up workdays (调休
/// 上班) are, and a case received after the city's office hours, or on a day off, counts as
/// received on the next working day.
///
/// A limit of N working days ends on the Nth working day after the day of receipt (the day of
/// receipt itself is not counted, as periods are counted in Chinese law: 民法典 第二百零一条); a
/// limit of 0 (即办件) ends on the day of receipt. Times are China Standard Time (UTC+8, no
/// daylight saving), the zone every city here keeps.
public struct WorkingCalendar: Sendable, Equatable {
    /// Public holidays and the days off of their 调休 arrangements.
    public var holidays: Set<CivilDate>
    /// Weekend days worked instead (make-up workdays).
    public var workdays: Set<CivilDate>
    /// Minutes after midnight when the office day ends: a case received at or after it counts
    /// from the next working day.
    public var cutoffMinutes: Int

    /// The default cut-off, 17:00.
    public static let defaultCutoffMinutes = 17 * 60
    /// China Standard Time's offset from UTC.
    static let utcOffsetSeconds: Int64 = 8 * 3600
    /// How far ahead a deadline is searched before giving up (a calendar of only days off).
    static let searchLimitDays = 3650

    /// Creates a calendar.
    public init(holidays: Set<CivilDate> = [], workdays: Set<CivilDate> = [], cutoffMinutes: Int = defaultCutoffMinutes)
    {
        self.holidays = holidays
        self.workdays = workdays
        self.cutoffMinutes = cutoffMinutes
    }

    /// Whether `date` is a working day.
    public func isWorkingDay(_ date: CivilDate) -> Bool {
        if workdays.contains(date) { return true }
        if holidays.contains(date) { return false }
        return date.weekday <= 5
    }

    /// The working day on or after `date`.
    public func workingDay(onOrAfter date: CivilDate) -> CivilDate {
        var day = date
        for _ in 0..<Self.searchLimitDays where !isWorkingDay(day) { day = day.adding(days: 1) }
        return day
    }

    /// The day a case received at `unixSeconds` counts as received: that day if it is a working
    /// day and the office day has not ended, otherwise the next working day.
    public func receiptDay(at unixSeconds: Int64) -> CivilDate {
        let local = unixSeconds + Self.utcOffsetSeconds
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let minutes = Int((local - Int64(days) * 86_400) / 60)
        let date = CivilDate(daysSinceEpoch: days)
        if isWorkingDay(date) && minutes < cutoffMinutes { return date }
        return workingDay(onOrAfter: date.adding(days: 1))
    }

    /// The last day of a limit of `workingDays` counted from `receipt`.
    public func deadline(from receipt: CivilDate, workingDays: Int) -> CivilDate {
        var day = receipt
        var counted = 0
        var steps = 0
        while counted < workingDays && steps < Self.searchLimitDays {
            day = day.adding(days: 1)
            steps += 1
            if isWorkingDay(day) { counted += 1 }
        }
        return day
    }

    /// The working days in `(start, end]`: how many working days a case counted from `start` and
    /// finished on `end` took (0 when finished on its receipt day, or before it).
    public func workingDays(after start: CivilDate, through end: CivilDate) -> Int {
        guard end > start else { return 0 }
        var count = 0
        var day = start.adding(days: 1)
        while day <= end {
            if isWorkingDay(day) { count += 1 }
            day = day.adding(days: 1)
        }
        return count
    }

    /// A service's deadlines for a case received at `unixSeconds`.
    public func deadlines(receivedAt unixSeconds: Int64, legalDays: Int, promisedDays: Int) -> Deadlines {
        let receipt = receiptDay(at: unixSeconds)
        return Deadlines(
            countsFrom: receipt, promisedBy: deadline(from: receipt, workingDays: promisedDays),
            legalBy: deadline(from: receipt, workingDays: legalDays))
    }

    /// A case's due dates.
    public struct Deadlines: Sendable, Equatable {
        /// The day the case counts as received.
        public var countsFrom: CivilDate
        /// The end of the service's promised limit (承诺时限).
        public var promisedBy: CivilDate
        /// The end of its legal limit (法定时限).
        public var legalBy: CivilDate
    }

    /// Parses `HH:MM` (00:00–23:59) into minutes after midnight.
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let hours = Int(parts[0]), let minutes = Int(parts[1]), hours < 24, minutes < 60
        else { return nil }
        return hours * 60 + minutes
    }
}
