import Foundation
import HTTPClient
import HTTPCore
import Testing

@testable import CityGate

/// Answers of real government backends mapped by the manifest (#20 §2–§3): typed values,
/// always-array elements, codes, dates, concatenation, `[*]` and `each`; SOAP faults mapped by
/// code with the manifest's own message; GBK answers read by their Content-Type or XML
/// declaration. Every refusal names the field, never the value.
struct LegacyResponseTests {
    static func mapping(_ fields: String, faults: String = "{\"map\": {}}", charset: String = "UTF-8") throws
        -> ResponseMapping
    {
        var operation = try LegacyBackendTests.operation(
            #"{"scope": "x.read", "idempotent": true, "request": {"method": "GET", "path": "/"}, "response": {"fields": \#(fields), "faults": \#(faults)}}"#
        )
        operation.response.charset = charset
        return operation.response
    }

    static func map(_ mapping: ResponseMapping, _ body: [UInt8], status: Int = 200, contentType: String = "text/xml")
        -> ResponseMapper.Outcome
    {
        ResponseMapper.map(
            ClientResponse(status: status, headers: ["Content-Type": contentType], body: body), with: mapping,
            backend: "gjj")
    }

    static let account = """
        <?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>\
        <g:R xmlns:g="urn:g"><g:Account><g:Balance>52310.45</g:Balance><g:Months>0120</g:Months><g:State>2</g:State>\
        <g:Frozen>Y</g:Frozen><g:Open>20150801</g:Open><g:At>20261202164533</g:At><g:Surname>张</g:Surname><g:Given>三</g:Given>\
        </g:Account><g:History><g:Item><g:M>202611</g:M><g:Amt>2400.00</g:Amt></g:Item></g:History></g:R></soap:Body></soap:Envelope>
        """

    @Test
    func typesTransformsAndShapesTheAnswer() throws {
        let mapping = try Self.mapping(
            """
            {"balance": {"path": "$.Account.Balance", "type": "number"},
             "months": {"path": "$.Account.Months", "type": "integer"},
             "state": {"path": "$.Account.State", "codes": {"1": "normal", "2": "frozen"}},
             "frozen": {"path": "$.Account.Frozen", "type": "boolean"},
             "opened": {"path": "$.Account.Open", "date": "yyyyMMdd"},
             "at": {"path": "$.Account.At", "datetime": "yyyyMMddHHmmss"},
             "atUTC": {"path": "$.Account.At", "datetime": "yyyyMMddHHmmss", "zone": "Z"},
             "name": {"concat": ["$.Account.Surname", "$.Account.Given"]},
             "label": {"concat": ["$.Account.Surname", " · ", "$.Account.State"]},
             "history": {"path": "$.History.Item", "array": true,
                         "each": {"month": "$.M", "amount": {"path": "$.Amt", "type": "number"}}},
             "months2": {"path": "$.History.Item[*].M", "array": true},
             "missing": {"path": "$.History.Nothing", "array": true},
             "text": {"path": "$.Account.Balance", "type": "string"}}
            """)
        guard case .body(let text) = Self.map(mapping, Array(Self.account.utf8)) else {
            Issue.record("\(Self.map(mapping, Array(Self.account.utf8)))")
            return
        }
        #expect(
            text
                == #"{"at":"2026-12-02T16:45:33+08:00","atUTC":"2026-12-02T16:45:33Z","balance":52310.45,"frozen":true,"history":[{"amount":2400.00,"month":"202611"}],"label":"张 · 2","missing":[],"months":120,"months2":["202611"],"name":"张三","opened":"2015-08-01","state":"frozen","text":"52310.45"}"#,
            "\(text)")
    }

    /// A value a recipe cannot take is a 502 that names the field and why, never the value.
    static let refusals: [(String, String, String)] = [
        (#"{"v": {"path": "$.V", "type": "number"}}"#, "abc", "for 'v': not a number"),
        (#"{"v": {"path": "$.V", "type": "integer"}}"#, "1.5", "for 'v': not an integer"),
        (#"{"v": {"path": "$.V", "type": "boolean"}}"#, "maybe", "for 'v': not a boolean"),
        (#"{"v": {"path": "$.V", "codes": {"1": "a"}}}"#, "9", "for 'v': a code the manifest's table does not list"),
        (#"{"v": {"path": "$.V", "date": "yyyyMMdd"}}"#, "20260230", "for 'v': not a date of the form yyyyMMdd"),
        (#"{"v": {"path": "$.V", "date": "yyyyMMdd"}}"#, "2026-02-01", "for 'v': not a date of the form yyyyMMdd"),
        (
            #"{"v": {"path": "$.V", "datetime": "yyyyMMddHHmmss"}}"#, "20261202256000",
            "for 'v': not a date and time of the form yyyyMMddHHmmss"
        ),
    ]

    @Test(arguments: refusals)
    func refusesAValueARecipeCannotTake(_ fields: String, _ value: String, _ expected: String) throws {
        let mapping = try Self.mapping(fields)
        let outcome = Self.map(mapping, Array("<R><V>\(value)</V></R>".utf8))
        guard case .problem(let type, let detail) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(type.slug == "backend-bad-response" && type.status == 502)
        #expect(detail.contains(expected), "\(detail)")
        #expect(!detail.contains(value), "the value is not echoed")
    }

    @Test
    func aCodeOutsideTheTableTakesTheDefault() throws {
        let mapping = try Self.mapping(#"{"v": {"path": "$.V", "codes": {"1": "a"}, "default": "unknown"}}"#)
        #expect(Self.map(mapping, Array("<R><V>9</V></R>".utf8)) == .body(#"{"v":"unknown"}"#))
    }

    static let faults = """
        {"codePath": "$.detail.Error.Code",
         "map": {"GJJ-1001": {"problem": "account-not-found", "status": 404, "message": "没有这个账户。No such account."},
                 "Client": {"problem": "request-refused", "status": 422, "message": "The fund refused the request."},
                 "Receiver": {"problem": "fund-maintenance", "status": 503, "message": "The fund is under maintenance."}}}
        """

    static func fault11(_ code: String, detail: String?) -> String {
        let detailXML =
            detail.map { "<detail><e:Error xmlns:e=\"urn:e\"><e:Code>\($0)</e:Code></e:Error></detail>" } ?? ""
        return """
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>\
            <faultcode>\(code)</faultcode><faultstring>账户 NB2015080100123 不存在, 身份证 33010619900101123X</faultstring>\(detailXML)\
            </soap:Fault></soap:Body></soap:Envelope>
            """
    }

    @Test(arguments: [
        (fault11("soap:Client", detail: "GJJ-1001"), "account-not-found", 404, "没有这个账户。No such account."),
        (fault11("soap:Client", detail: "GJJ-9999"), "request-refused", 422, "The fund refused the request."),
        (fault11("soap:Server", detail: nil), "backend-fault", 502, "Backend 'gjj' answered with a SOAP fault"),
        (
            """
            <env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault>\
            <env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text xml:lang="zh">维护中</env:Text></env:Reason>\
            </env:Fault></env:Body></env:Envelope>
            """, "fund-maintenance", 503, "The fund is under maintenance."
        ),
    ])
    func mapsSOAPFaultsByCode(_ body: String, _ slug: String, _ status: Int, _ detail: String) throws {
        let mapping = try Self.mapping(#"{"a": "$.A"}"#, faults: Self.faults)
        for httpStatus in [500, 200] {
            let outcome = Self.map(mapping, Array(body.utf8), status: httpStatus)
            guard case .problem(let type, let text) = outcome else {
                Issue.record("\(outcome)")
                continue
            }
            #expect(type.slug == slug && type.status == status, "\(type)")
            #expect(text.hasPrefix(detail), "\(text)")
            #expect(
                !text.contains("33010619900101123X") && !text.contains("NB2015"), "the faultstring is not passed on")
        }
    }

    @Test
    func readsGBKAnswersByTheirContentTypeOrDeclarationOrTheOperation() throws {
        let mapping = try Self.mapping(#"{"name": "$.Name"}"#)
        let xml = #"<?xml version="1.0" encoding="GBK"?><R><Name>张三</Name></R>"#
        let gbk = try #require(LegacyCharset.encode(xml, to: "GBK"))
        #expect(Self.map(mapping, gbk, contentType: "text/xml; charset=GBK") == .body(#"{"name":"张三"}"#))
        #expect(Self.map(mapping, gbk, contentType: "text/xml") == .body(#"{"name":"张三"}"#), "by the declaration")
        let json = try #require(LegacyCharset.encode(#"{"Name":"张三"}"#, to: "GB18030"))
        let byOperation = try Self.mapping(#"{"name": "$.Name"}"#, charset: "GB18030")
        #expect(Self.map(byOperation, json, contentType: "application/json") == .body(#"{"name":"张三"}"#))
        // The same GBK bytes read as UTF-8 are not text: a clear 502, not mojibake.
        guard case .problem(let type, _) = Self.map(mapping, Array(gbk.dropFirst(38)), contentType: "text/xml") else {
            Issue.record("GBK bytes read as UTF-8 must not map")
            return
        }
        #expect(type.slug == "backend-bad-response")
    }

    @Test
    func datePatternsRoundTrip() throws {
        let pattern = try #require(DatePattern("yyyy/MM/dd HH:mm:ss"))
        #expect(pattern.parse("2026/12/02 16:45:33")?.rfc3339 == "2026-12-02T16:45:33+08:00")
        #expect(pattern.parse("2026/12/02 16:45") == nil)
        #expect(pattern.format("2026-12-02T08:45:33Z") == "2026/12/02 16:45:33", "converted to the backend's zone")
        #expect(DatePattern("yyyyMMdd")?.format("2026-11-28") == "20261128")
        #expect(DatePattern("yyyyMMdd")?.format("28/11/2026") == nil)
        for bad in ["yyMMdd", "yyyyMMddQ", "yyyyMM", "yyyyyyyyMMdd", "ddMMyyyydd"] {
            #expect(DatePattern(bad) == nil, "\(bad)")
        }
    }

    /// Documents pass only with an allowed type, within the cap, and with bytes of that type;
    /// a file name is kept only when it is plain.
    @Test(arguments: [
        ("application/pdf", "%PDF-1.4 x", "attachment; filename=\"cert-1.pdf\"", "document cert-1.pdf"),
        ("application/pdf; charset=binary", "%PDF-1.7", "attachment; filename=\"../../etc/passwd\"", "document -"),
        ("application/pdf", "%PDF-1.4", "attachment; filename=\"a\\r\\nX-Evil: 1.pdf\"", "document -"),
        ("text/html", "<html>", "", "backend-bad-response a document of a type the service does not pass on"),
        ("application/pdf", "<html>", "", "backend-bad-response bytes that are not a application/pdf document"),
        ("image/png", "%PDF-1.4", "", "backend-bad-response bytes that are not a image/png document"),
        ("application/pdf", "%PDF-" + String(repeating: "x", count: 100), "", "backend-response-too-large larger than"),
        ("application/json", #"{"errorMsg":"not yet"}"#, "", "body"),
    ])
    func passesDocumentsOnlyAsTheyClaimToBe(_ type: String, _ body: String, _ disposition: String, _ expected: String)
        throws
    {
        var operation = try LegacyBackendTests.operation(
            #"{"scope": "x.read", "idempotent": true, "request": {"method": "GET", "path": "/"}, "response": {"document": {"types": ["application/pdf", "image/png"], "maxBytes": 64}, "fields": {"message": "$.errorMsg"}}}"#
        )
        operation.response.charset = "UTF-8"
        var headers: Headers = ["Content-Type": type]
        if !disposition.isEmpty { headers.add(name: "Content-Disposition", value: disposition) }
        let outcome = ResponseMapper.map(
            ClientResponse(status: 200, headers: headers, body: Array(body.utf8)), with: operation.response,
            backend: "b")
        switch outcome {
        case .document(let contentType, let bytes, let filename):
            #expect(expected == "document \(filename ?? "-")", "\(outcome)")
            #expect(contentType == "application/pdf" && bytes == Array(body.utf8))
        case .problem(let problem, let detail):
            #expect(
                expected.hasPrefix(problem.slug) && detail.contains(expected.dropFirst(problem.slug.count + 1)),
                "\(outcome)")
        case .body:
            #expect(expected == "body", "a JSON answer is mapped as usual: \(outcome)")
        }
    }

    @Test
    func writesMultipartWithEscapedNames() throws {
        let body = try MultipartBody.encode(
            boundary: "b0", fields: [("case\"No", "NB-1")],
            files: [(name: "doc", filename: "a\"b\r\n.pdf", contentType: "application/pdf", content: "JVBERi0xLjQ=")],
            limits: ["doc": 100])
        #expect(
            String(decoding: body, as: UTF8.self)
                == "--b0\r\nContent-Disposition: form-data; name=\"case\\\"No\"\r\n\r\nNB-1\r\n--b0\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a\\\"b.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--b0--\r\n"
        )
        #expect(throws: BackendRequestBuilder.Failure.invalidDocument(part: "doc", reason: "is larger than 4 bytes")) {
            _ = try MultipartBody.encode(
                boundary: "b", fields: [],
                files: [(name: "doc", filename: "a", contentType: "application/pdf", content: "JVBERi0xLjQ=")],
                limits: ["doc": 4])
        }
    }
}
