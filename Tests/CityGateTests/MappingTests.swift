import Foundation
import HTTPClient
import HTTPCore
import Testing

@testable import CityGate

/// Backend request building (JSON, form, XML) and response mapping, with the sample operations.
struct MappingTests {
    static func operation(_ service: String, _ name: String) throws -> ServiceManifest.Operation {
        let set = try ManifestSet.load(directory: ManifestSetTests.sample.path).get()
        return try #require(set.services[service]?.operations[name])
    }

    static func context(_ input: String, subject: String = "sub-7f3a") throws -> TemplateContext {
        let object = try #require(try JSONReader.parse(Array(input.utf8)).objectValue)
        return TemplateContext(
            input: object,
            values: [
                "city": ["code": "330100"], "subject": ["id": subject],
                "secret": ["traffic-api-key": "key-1", "approvals-oauth": "Bearer token-1"],
            ])
    }

    @Test
    func getWithPathAndQuery() throws {
        let request = try BackendRequestBuilder.build(
            try Self.operation("social-security.account", "balance").request,
            context: try Self.context(#"{"year":2026}"#))
        #expect(request.method == "GET")
        #expect(request.url == "/api/v2/accounts/sub-7f3a/balance?city=330100&year=2026")
        #expect(request.body.isEmpty)
    }

    @Test
    func pathValuesCannotAddSegmentsOrQueries() throws {
        let request = try BackendRequestBuilder.build(
            try Self.operation("social-security.account", "balance").request,
            context: try Self.context(#"{"year":2026}"#, subject: "../admin?x=1 &"))
        #expect(request.url == "/api/v2/accounts/..%2Fadmin%3Fx%3D1%20%26/balance?city=330100&year=2026")
    }

    @Test
    func formBody() throws {
        let request = try BackendRequestBuilder.build(
            try Self.operation("traffic.violations", "lookup").request,
            context: try Self.context(#"{"plate":"A12345","engineTail":"ABC 12"}"#))
        #expect(request.method == "POST")
        #expect(request.url == "/violations/query")
        #expect(String(decoding: request.body, as: UTF8.self) == "citizen=sub-7f3a&city=330100&fdjh=ABC+12&hphm=A12345")
        #expect(request.headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(request.headers["X-API-Key"] == "key-1", "the city's credential, by name")
    }

    @Test
    func soapXMLBodyIsEscaped() throws {
        let request = try BackendRequestBuilder.build(
            try Self.operation("household.appointment", "book").request,
            context: try Self.context(#"{"station":"西湖 <派出所> & \"东\"","date":"2026-12-01","phone":"13800138000"}"#))
        let xml = String(decoding: request.body, as: UTF8.self)
        #expect(xml.contains("<soapenv:Body><BookAppointment>"))
        #expect(xml.contains("<Station>西湖 &lt;派出所&gt; &amp; &quot;东&quot;</Station>"))
        #expect(xml.contains("<Citizen>sub-7f3a</Citizen>"))
        #expect(request.headers["SOAPAction"] == "\"urn:BookAppointment\"", "quoted, as SOAP 1.1 §6.1.1 requires")
        #expect(request.headers["content-type"] == "text/xml; charset=utf-8")
    }

    @Test
    func jsonBodyKeepsTypesAndNestedObjects() throws {
        let input =
            #"{"applicant":{"name":"张三","idNumber":"11010519491231002X","phone":"13800138000"},"location":"文三路 90 号","from":"2026-12-01","to":"2026-12-03"}"#
        let request = try BackendRequestBuilder.build(
            try Self.operation("permit.application", "apply").request, context: try Self.context(input))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        #expect((body["applicant"] as? [String: Any])?["name"] as? String == "张三")
        #expect(body["city"] as? String == "330100")
        #expect(body["from"] as? String == "2026-12-01")
    }

    @Test
    func missingPathValueIsAClearFailure() throws {
        let template = try Self.operation("permit.application", "progress").request
        do {
            _ = try BackendRequestBuilder.build(
                template, context: TemplateContext(input: [:], values: ["secret": ["approvals-oauth": "Bearer t"]]))
            Issue.record("expected a failure")
        } catch {
            #expect(error.description == "missing value for {input.caseNumber}")
        }
    }

    /// A header value from the input must not carry a line break (it would add header fields,
    /// or a whole second request, of the caller's choosing) or any other control byte.
    @Test(arguments: [
        ("plain", "west-lake", true), ("tab", "a\tb", true), ("Chinese", "杭州", true),
        ("CRLF injection", "a\r\nX-Injected: 1", false), ("LF", "a\nb", false), ("CR", "a\rb", false),
        ("NUL", "a\u{0}b", false), ("DEL", "a\u{7F}b", false), ("vertical tab", "a\u{0B}b", false),
    ])
    func headerValuesCannotCarryControlBytes(_ name: String, _ value: String, _ accepted: Bool) throws {
        let template = BackendRequestTemplate(
            method: "GET", path: "/x", query: [], headers: [("X-Hall", "hall={input.hall}")], bodyFormat: nil,
            body: [], xmlRoot: nil)
        let context = TemplateContext(input: ["hall": .string(value)])
        if accepted {
            let request = try BackendRequestBuilder.build(template, context: context)
            #expect(request.headers["X-Hall"] == "hall=\(value)", "\(name)")
        } else {
            #expect(throws: BackendRequestBuilder.Failure.unsafeHeaderValue(header: "X-Hall"), "\(name)") {
                try BackendRequestBuilder.build(template, context: context)
            }
        }
    }

    static func response(_ status: Int, _ body: String, contentType: String = "application/json") -> ClientResponse {
        ClientResponse(status: status, headers: ["Content-Type": contentType], body: Array(body.utf8))
    }

    @Test
    func jsonAnswerIsPickedAndRenamed() throws {
        let mapping = try Self.operation("social-security.account", "balance").response
        let outcome = ResponseMapper.map(
            Self.response(200, #"{"code":0,"data":{"amount":1234.5,"updated_at":"2026-11-01","secret_field":"x"}}"#),
            with: mapping, backend: "hrss")
        #expect(outcome == .body(#"{"asOf":"2026-11-01","balance":1234.5}"#))
    }

    /// A backend answer naming a member twice is read last-wins (as Foundation read it), not
    /// refused like partner input; numbers pass through as the backend wrote them.
    @Test
    func backendAnswersWithARepeatedMemberAreReadLastWins() throws {
        let mapping = try Self.operation("social-security.account", "balance").response
        let outcome = ResponseMapper.map(
            Self.response(200, #"{"data":{"amount":1,"amount":12345678.10,"updated_at":"2026-11-01"}}"#),
            with: mapping, backend: "hrss")
        #expect(outcome == .body(#"{"asOf":"2026-11-01","balance":12345678.10}"#))
    }

    @Test
    func missingFieldsBecomeNullAndConstantsAreAdded() throws {
        let mapping = try Self.operation("permit.application", "apply").response
        let outcome = ResponseMapper.map(
            Self.response(201, #"{"case_no":"330100-2026-000123"}"#), with: mapping, backend: "approvals")
        #expect(outcome == .body(#"{"caseNumber":"330100-2026-000123","promisedDays":"10","stage":null}"#))
    }

    @Test
    func soapAnswerIsUnwrapped() throws {
        let mapping = try Self.operation("household.appointment", "book").response
        let xml = """
            <?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
            <ns1:BookAppointmentResponse xmlns:ns1="urn:gov"><ns1:AppointmentId>APT-88</ns1:AppointmentId><ns1:Slot>09:30</ns1:Slot></ns1:BookAppointmentResponse>
            </soap:Body></soap:Envelope>
            """
        let outcome = ResponseMapper.map(
            Self.response(200, xml, contentType: "text/xml"), with: mapping, backend: "public-security")
        #expect(outcome == .body(#"{"appointmentId":"APT-88","slot":"09:30"}"#))
    }

    @Test
    func arraysAreIndexed() throws {
        let mapping = ResponseMapping(
            fields: [("first", "$.records[0].code"), ("third", "$.records[2].code")], constants: [], errors: [:])
        let outcome = ResponseMapper.map(
            Self.response(200, #"{"records":[{"code":"1001"},{"code":"1002"}]}"#), with: mapping, backend: "b")
        #expect(outcome == .body(#"{"first":"1001","third":null}"#))
    }

    @Test(arguments: [
        (404, "", "account-not-found", 404), (503, "", "backend-error", 502),
        (400, "", "backend-rejected-request", 502),
        (200, "not json", "backend-bad-response", 502),
    ])
    func statusesBecomeProblems(status: Int, body: String, slug: String, expectedStatus: Int) throws {
        let mapping = try Self.operation("social-security.account", "balance").response
        guard
            case .problem(let type, let detail) = ResponseMapper.map(
                Self.response(status, body), with: mapping, backend: "hrss")
        else {
            Issue.record("expected a problem")
            return
        }
        #expect(type.slug == slug)
        #expect(type.status == expectedStatus)
        #expect(!detail.contains("127.0.0.1"))
    }

    @Test
    func xmlEntitiesAreNotExpandedFromOutside() throws {
        let mapping = ResponseMapping(fields: [("v", "$.Value")], constants: [], errors: [:])
        let xml =
            #"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><R><Value>&x;</Value></R>"#
        let outcome = ResponseMapper.map(
            Self.response(200, xml, contentType: "application/xml"), with: mapping, backend: "b")
        if case .body(let text) = outcome { #expect(!text.contains("root:")) }
    }
}

/// Which content types make the response mapper read XML.
@Suite struct ResponseContentTypeTests {
    @Test(arguments: [
        ("text/xml", true), ("application/soap+xml; charset=utf-8", true), ("TEXT/XML", true),
        ("application/XmL", true), ("application/json", false), ("", false), ("xm", false),
        ("application/x-www-form-urlencoded", false), ("xml", true),
    ])
    func xmlIsNamed(contentType: String, expected: Bool) {
        #expect(ResponseMapper.namesXML(contentType) == expected)
    }
}

/// Response mappings compiled for the call path: path steps and member order.
@Suite struct ResponsePlanTests {
    @Test(arguments: [
        ("$.data.amount", [ResponsePlan.Step.member("data"), .member("amount")]),
        ("$.items[0].id", [.member("items"), .index(0), .member("id")]),
        ("$[2]", [.index(2)]),
        ("$", []),
        ("$.a[x]", [.member("a"), .index(-1)]),
        ("$.a]", [.member("a]")]),
        ("$?", [.index(-1)]),
    ])
    func pathsSplitIntoSteps(path: String, steps: [ResponsePlan.Step]) {
        #expect(ResponsePlan.steps(of: path) == steps)
    }

    @Test
    func membersAreSortedByBytesAndConstantsWinOverFieldsOfTheSameName() throws {
        let plan = ResponsePlan(
            fields: [("b", "$.b"), ("a", "$.a"), ("Z", "$.z"), ("same", "$.x")],
            constants: [("same", "constant")])
        let keys = plan.members.map { String(decoding: $0.prefix, as: UTF8.self) }
        #expect(keys == ["\"Z\":", "\"a\":", "\"b\":", "\"same\":"])
        guard case .constant("constant") = try #require(plan.members.last).source else {
            Issue.record("the constant must win")
            return
        }
    }

    @Test
    func mappingTheSameDocumentMatchesAGeneralEncoder() throws {
        let document: [String: Any] = ["data": ["amount": 12.5, "items": [["id": "x1"]]], "ok": true]
        let mapping = ResponseMapping(
            fields: [("amount", "$.data.amount"), ("first", "$.data.items[0].id"), ("missing", "$.nope")],
            constants: [("currency", "CNY")], errors: [:])
        let body = try JSONSerialization.data(withJSONObject: document)
        let outcome = ResponseMapper.map(
            ClientResponse(status: 200, headers: ["Content-Type": "application/json"], body: Array(body)),
            with: mapping, backend: "b")
        #expect(outcome == .body("{\"amount\":12.5,\"currency\":\"CNY\",\"first\":\"x1\",\"missing\":null}"))
    }
}
