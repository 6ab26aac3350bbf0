import Testing

@testable import CityGate

/// Templates compiled at load: what each shape renders to, and what a missing value names.
@Suite struct CompiledTemplateTests {
    static let context = TemplateContext(
        input: [
            "year": .number("2026"), "hall": .string("west-lake"),
            "applicant": .object(["name": .string("张三"), "age": .number("30")]),
        ],
        values: ["city": ["code": "330100"], "request": ["id": "req-1"]])

    static let cases: [(String, JSONValue?)] = [
        ("{input.year}", .number("2026")),
        ("{input.applicant}", .object(["name": .string("张三"), "age": .number("30")])),
        ("{input.applicant.age}", .number("30")),
        ("{city.code}", .string("330100")),
        ("/halls/{input.hall}/queue", .string("/halls/west-lake/queue")),
        ("{city.code}-{input.year}", .string("330100-2026")),
        ("no placeholders", .string("no placeholders")),
        ("", .string("")),
        ("open {brace", .string("open {brace")),
        ("{input.missing}", nil),
        ("{input.applicant.name.first}", nil),
        ("{city}", nil),
        ("{nowhere.thing}", nil),
    ]

    @Test(arguments: cases.indices)
    func rendersEachShape(_ index: Int) throws {
        let (template, expected) = Self.cases[index]
        #expect(try CompiledTemplate(template).render(Self.context, required: false) == expected, "\(template)")
    }

    @Test
    func aMissingValueNamesItsPlaceholder() {
        #expect(throws: TemplateRenderer.MissingValue.self) {
            try CompiledTemplate("/a/{input.year}/{input.missing}").renderText(Self.context)
        }
        do {
            _ = try CompiledTemplate("/a/{input.year}/{input.missing}").renderText(Self.context)
        } catch {
            #expect(error.placeholder == "input.missing")
        }
    }

    @Test
    func textIsEscapedPerPlaceholderOnly() throws {
        let text = try CompiledTemplate("/{input.hall}/x y").renderText(Self.context) { $0.uppercased() }
        #expect(text == "/WEST-LAKE/x y")
    }

    @Test
    func changingATemplateRecompilesIt() throws {
        var template = BackendRequestTemplate(
            method: "GET", path: "/a", query: [], headers: [], bodyFormat: nil, body: [], xmlRoot: nil)
        template.path = "/b/{input.hall}"
        template.query = [("year", "{input.year}")]
        let request = try BackendRequestBuilder.build(template, context: Self.context)
        #expect(request.url == "/b/west-lake?year=2026")
    }
}
