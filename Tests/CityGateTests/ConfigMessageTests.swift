import CityGate
import Foundation
import Testing

/// Configuration errors say where and what in the terms a city IT team uses: a JSON syntax error
/// by line and column (not "around character 308"), an impossible date as not a calendar date.
struct ConfigMessageTests {
    /// The sample tree with `file` replaced by `text`; the problems `validate` reports.
    static func problems(replacing file: String, with text: String) throws -> [String] {
        let tree = try ManifestSetTests.brokenTree([:])
        try Data(text.utf8).write(to: URL(fileURLWithPath: tree).appendingPathComponent(file))
        switch ManifestSet.load(directory: tree, environment: [:]) {
        case .success: return []
        case .failure(let problems): return problems.problems.map(\.description)
        }
    }

    @Test(arguments: [
        ("{\n  \"code\": \"330100\",\n  \"name\": { \"zh\": \"杭州市\" \"en\": \"Hangzhou\" }\n}\n", "line 3, column 25"),
        ("{\n  \"code\": \"330100\",\n}\n", "line 3, column 1"),
        (
            "{\"code\": \"330100\", \"code\": \"330101\"}",
            "line 1, column 20: a member name appears twice in one object"
        ),
        ("", "line 1, column 1"),
        ("{\n\n\n  \"code\": 0330100\n}", "line 4, column 12"),
    ])
    func jsonSyntaxErrorsNameLineAndColumn(text: String, position: String) throws {
        let problems = try Self.problems(replacing: "cities/330100.json", with: text)
        let line = problems.first { $0.hasPrefix("cities/330100.json: $: is not valid JSON") } ?? ""
        #expect(line.contains(position), "\(problems)")
        #expect(!line.contains("character"))
    }

    @Test(arguments: [
        ("2026-10-32", "cities/330100.json: $.calendar.holidays[0]: 2026-10-32 is not a calendar date"),
        ("2026-02-29", "cities/330100.json: $.calendar.holidays[0]: 2026-02-29 is not a calendar date"),
        ("2026-13-01", "cities/330100.json: $.calendar.holidays[0]: 2026-13-01 is not a calendar date"),
        ("26-10-01", "cities/330100.json: $.calendar.holidays[0]: must be a date written YYYY-MM-DD"),
        ("2026/10/01", "cities/330100.json: $.calendar.holidays[0]: must be a date written YYYY-MM-DD"),
    ])
    func impossibleDatesAreNotCalendarDates(date: String, expected: String) throws {
        let problems = try ManifestSetTests.problems([
            "cities/330100.json": { city in city["calendar"] = ["holidays": [date]] }
        ])
        #expect(problems.contains(expected), "\(problems)")
    }

    @Test(arguments: ["25:00", "17:60", "5pm", "17:00:00", "7:00", ""])
    func aCutOffMustBeATimeOfDay(cutoff: String) throws {
        let problems = try ManifestSetTests.problems([
            "cities/330100.json": { city in city["calendar"] = ["cutoff": cutoff] }
        ])
        #expect(
            problems.contains(
                "cities/330100.json: $.calendar.cutoff: must be a time of day written HH:MM (00:00 to 23:59)"),
            "\(problems)")
    }
}
