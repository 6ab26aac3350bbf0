import CityGate
import Foundation
import Testing

struct InputFormatTests {
    @Test(arguments: [
        ("2026-11-28", true), ("2024-02-29", true), ("2000-02-29", true), ("1900-02-29", false), ("2023-02-29", false),
        ("2026-04-31", false), ("2026-13-01", false), ("2026-00-10", false), ("2026-1-01", false), ("20261128", false),
        ("2026-11-28T00:00:00", false), ("", false), ("2026/11/28", false), ("０２６-11-28", false),
    ])
    func dates(text: String, valid: Bool) {
        #expect(InputFormat.date.accepts(text) == valid)
    }

    @Test(arguments: [
        ("13800138000", true), ("19912345678", true), ("12800138000", false), ("1380013800", false),
        ("138001380000", false),
        ("+8613800138000", false), ("1380013800a", false), ("23800138000", false), ("", false),
    ])
    func phones(text: String, valid: Bool) {
        #expect(InputFormat.phoneCN.accepts(text) == valid)
    }

    /// Check characters computed independently (ISO 7064 MOD 11-2 in Python) for these.
    @Test(arguments: [
        ("11010519491231002X", true), ("11010519491231002x", true), ("440305199001015679", true),
        ("330106198511301232", true),
        ("110101200002290018", true),
        ("110105194912310021", false),  // wrong check digit
        ("440305199001015678", false),  // wrong check digit
        ("440305199013015673", false),  // month 13
        ("440305199002305670", false),  // 30 February
        ("040305199001015679", false),  // region cannot start with 0
        ("44030519900101567", false),  // 17 characters
        ("4403051990010156799", false),  // 19 characters
        ("44030519900101567Y", false), ("44030518900101567X", false),  // year 1890
        ("", false),
    ])
    func residentIds(text: String, valid: Bool) {
        #expect(InputFormat.residentId.accepts(text) == valid)
    }

    @Test
    func checkCharacterOfTheStandardsExample() {
        #expect(InputFormat.checkCharacter(forFirst17: "11010519491231002") == "X")
        #expect(InputFormat.checkCharacter(forFirst17: "1101051949123100") == nil)
    }
}

struct InputSchemaTests {
    static func schema(_ json: String) throws -> InputSchema {
        try InputSchema.compile(json: json).get()
    }

    static func value(_ json: String) throws -> JSONValue {
        try JSONReader.parse(Array(json.utf8))
    }

    static let balance = """
        {"type":"object","required":["year"],"additionalProperties":false,
         "properties":{"year":{"type":"integer","minimum":1990,"maximum":2100}}}
        """

    static let application = """
        {"type":"object","required":["applicant","items"],"additionalProperties":false,"properties":{
          "applicant":{"type":"object","required":["name","idNumber","phone"],"additionalProperties":false,"properties":{
            "name":{"type":"string","minLength":2,"maxLength":20},
            "idNumber":{"type":"string","format":"resident-id"},
            "phone":{"type":"string","format":"phone-cn"}}},
          "appointmentDate":{"type":"string","format":"date"},
          "category":{"enum":["new","renewal","transfer"]},
          "plate":{"type":"string","pattern":"^[A-Z][A-Z0-9]{5,6}$"},
          "copies":{"type":"integer","minimum":1,"maximum":5},
          "items":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"string","maxLength":10}},
          "urgent":{"type":"boolean"},
          "fee":{"type":"number","minimum":0}}}
        """

    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let schema: String
        let input: String
        let violations: [String]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "valid balance", schema: balance, input: #"{"year":2026}"#, violations: []),
        Case(
            name: "year below minimum", schema: balance, input: #"{"year":1989}"#,
            violations: ["$.year: must be at least 1990"]),
        Case(
            name: "year not integer", schema: balance, input: #"{"year":2026.5}"#,
            violations: ["$.year: must be integer"]),
        Case(
            name: "year as string", schema: balance, input: #"{"year":"2026"}"#, violations: ["$.year: must be integer"]
        ),
        Case(
            name: "year as boolean", schema: balance, input: #"{"year":true}"#, violations: ["$.year: must be integer"]),
        Case(name: "integral float accepted", schema: balance, input: #"{"year":2026.0}"#, violations: []),
        Case(
            name: "missing and extra", schema: balance, input: #"{"yaer":2026}"#,
            violations: ["$.year: is required", "$.yaer: is not allowed"]),
        Case(name: "not an object", schema: balance, input: "[2026]", violations: ["$: must be object"]),
        Case(
            name: "valid application", schema: application,
            input:
                #"{"applicant":{"name":"张三","idNumber":"11010519491231002X","phone":"13800138000"},"appointmentDate":"2026-12-01","category":"renewal","plate":"A12345","copies":2,"items":["photo"],"urgent":false,"fee":12.5}"#,
            violations: []),
        Case(
            name: "every violation at once", schema: application,
            input:
                #"{"applicant":{"name":"张","idNumber":"110105194912310021","phone":"12800138000","age":30},"appointmentDate":"2026-02-30","category":"gift","plate":"a123","copies":9,"items":[],"urgent":"yes","fee":-1}"#,
            violations: [
                "$.applicant.age: is not allowed",
                "$.applicant.idNumber: must be a valid 18-character resident ID number (GB 11643 check digit)",
                "$.applicant.name: must be at least 2 characters",
                "$.applicant.phone: must be a mainland China mobile number (11 digits starting with 13-19)",
                "$.appointmentDate: must be a calendar date written YYYY-MM-DD",
                "$.category: must be one of new, renewal, transfer",
                "$.copies: must be at most 5", "$.fee: must be at least 0", "$.items: must have at least 1 items",
                "$.plate: must match the pattern ^[A-Z][A-Z0-9]{5,6}$", "$.urgent: must be boolean",
            ]),
        Case(
            name: "array items checked by index", schema: application,
            input:
                #"{"applicant":{"name":"李四","idNumber":"440305199001015679","phone":"13800138000"},"items":["ok","far too long item",7]}"#,
            violations: ["$.items[1]: must be at most 10 characters", "$.items[2]: must be string"]),
    ]

    @Test(arguments: cases)
    func validates(_ testCase: Case) throws {
        let violations = try Self.schema(testCase.schema).validate(try Self.value(testCase.input)).map(\.description)
        #expect(violations.sorted() == testCase.violations.sorted())
    }

    @Test
    func violationsNeverQuoteTheCitizensValues() throws {
        let input = #"{"applicant":{"name":"王","idNumber":"110105194912310021","phone":"12800138000"},"items":["x"]}"#
        let text = try Self.schema(Self.application).validate(try Self.value(input)).map(\.description).joined(
            separator: "\n")
        #expect(!text.contains("110105194912310021"))
        #expect(!text.contains("12800138000"))
        #expect(!text.contains("王"))
    }

    @Test(arguments: [
        (#"{"type":"object","propertys":{}}"#, "schema.json: $.propertys: unknown field"),
        (#"{"type":"strin"}"#, "schema.json: $.type: unknown type 'strin'"),
        (
            #"{"type":"string","format":"email"}"#,
            "schema.json: $.format: unknown format 'email' (known: date, phone-cn, resident-id)"
        ),
        (#"{"type":"string","pattern":"(unclosed"}"#, "schema.json: $.pattern: is not a valid regular expression"),
        (
            #"{"type":"object","required":["a"],"properties":{"b":{}}}"#,
            "schema.json: $.required: names 'a', which is not in properties"
        ),
        (#"{"type":"integer","minimum":10,"maximum":1}"#, "schema.json: $.minimum: is greater than maximum"),
        (#"{"type":"string","minLength":-1}"#, "schema.json: $.minLength: must be between 0 and 1000000"),
        (#"{"enum":[]}"#, "schema.json: $.enum: must be a non-empty list"),
        (
            #"{"properties":{"a":{"type":"integer","minimum":"1"}}}"#,
            "schema.json: $.properties.a.minimum: must be a number"
        ),
    ])
    func reportsSchemaMistakesWithTheirPath(json: String, expected: String) {
        switch InputSchema.compile(json: json) {
        case .success: Issue.record("expected a problem")
        case .failure(let problems):
            #expect(problems.problems.map(\.description).contains { $0.hasPrefix(expected) }, "\(problems)")
        }
    }
}
