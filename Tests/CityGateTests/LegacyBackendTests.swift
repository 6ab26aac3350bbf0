import Cryptography
import Foundation
import HTTPClient
import HTTPCore
import Testing

@testable import CityGate

/// What real government backends need from a manifest (#20 §2–§3): SOAP 1.1 and 1.2 envelopes
/// with namespaces and a WS-Security header, element names checked at validate time, SOAP
/// faults mapped by code, typed and always-array output fields, value transforms in both
/// directions, and GBK on the wire. Table-driven, with the malformed variants.
struct LegacyBackendTests {
    /// A one-operation service around `operation` (JSON text), loaded as the gateway loads it.
    static func load(_ operation: String) -> (ServiceManifest.Operation?, [String]) {
        let text = """
            {"id": "t.s", "version": "1.0.0", "name": {"zh": "测试", "en": "Test"},
             "department": {"code": "12330200MB0123456N", "name": "d"}, "itemCode": "1", "category": "c", "authLevel": "partner",
             "timeLimits": {"legalDays": 0, "promisedDays": 0}, "backend": "b",
             "operations": {"op": \(operation)}, "enabled": true}
            """
        let reader = ConfigReader(file: "services/t.s.json")
        guard let document = reader.document(Data(text.utf8)) else { return (nil, reader.problems.map(\.description)) }
        let service = ServiceManifest.load(document, expectedId: "t.s", reader: reader)
        return (service.operations["op"], reader.problems.map(\.description))
    }

    static func operation(_ text: String) throws -> ServiceManifest.Operation {
        let (operation, problems) = load(text)
        #expect(problems.isEmpty, "\(problems)")
        return try #require(operation)
    }

    static func context(_ input: String = "{}") throws -> TemplateContext {
        TemplateContext(
            input: try #require(try JSONReader.parse(Array(input.utf8)).objectValue),
            values: ["city": ["code": "330200"], "subject": ["id": "s1"], "secret": ["u": "citygate", "p": "pa<ss"]])
    }

    static let soapOperation = """
        {"scope": "x.read", "idempotent": true,
         "input": {"type": "object", "properties": {"no": {"type": "string"}, "day": {"type": "string"}, "sex": {"type": "string"}}},
         "request": {"method": "POST", "path": "/ws", "format": "xml", "charset": "GBK",
           "namespaces": {"gjj": "urn:gjj", "": "urn:default"},
           "soap": {"version": "1.1", "action": "urn:gjj/Query",
                    "security": {"username": "{secret.u}", "password": "{secret.p}", "passwordType": "digest"}},
           "xmlRoot": "gjj:Query",
           "body": [{"element": "gjj:Who/gjj:No", "value": "{input.no}"},
                    {"element": "gjj:Who/gjj:Day", "value": "{input.day|date:yyyyMMdd}"},
                    {"element": "gjj:Sex", "value": "{input.sex|codes:male=1,female=2}"},
                    {"element": "gjj:Channel", "value": "城市服务"}]},
         "response": {"fields": {"no": "$.No"}}}
        """

    @Test
    func writesASOAP11EnvelopeWithNamespacesSecurityAndGBK() throws {
        let request = try BackendRequestBuilder.build(
            try Self.operation(Self.soapOperation).request,
            context: try Self.context(#"{"no":"A<1","day":"2026-11-28","sex":"female"}"#))
        #expect(request.headers["content-type"] == "text/xml; charset=gbk")
        #expect(request.headers["SOAPAction"] == "\"urn:gjj/Query\"", "quoted (SOAP 1.1 §6.1.1)")
        // The bytes are GBK: 城市 is B3 C7 CA D0 there (E5 9F 8E E5 B8 82 in UTF-8).
        #expect(request.body.starts(with: Array(#"<?xml version="1.0" encoding="GBK"?>"#.utf8)))
        let gbk: [UInt8] = [0xB3, 0xC7, 0xCA, 0xD0]  // 城市
        #expect(request.body.indices.contains { request.body[$0...].starts(with: gbk) })
        let xml = try #require(LegacyCharset.decode(request.body, from: "GBK"))
        #expect(
            xml.contains(
                #"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:default" xmlns:gjj="urn:gjj">"#
            ))
        #expect(
            xml.contains(
                "<soapenv:Body><gjj:Query><gjj:Who><gjj:No>A&lt;1</gjj:No><gjj:Day>20261128</gjj:Day></gjj:Who><gjj:Sex>2</gjj:Sex><gjj:Channel>城市服务</gjj:Channel></gjj:Query></soapenv:Body>"
            ), "nested in order, the date and code converted for the backend: \(xml)")
        // WS-Security UsernameToken with PasswordDigest = Base64(SHA-1(nonce ‖ created ‖ password)).
        #expect(
            xml.contains(#"soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>citygate</wsse:Username>"#))
        let digest = try #require(Self.element("wsse:Password", in: xml))
        let nonce = try #require(Self.element("wsse:Nonce", in: xml).flatMap { Encoding.base64Decode($0) })
        let created = try #require(Self.element("wsu:Created", in: xml))
        #expect(nonce.count == 16)
        #expect(created.count == 20 && created.hasSuffix("Z"))
        let expected = try Digest.sha1.hash(nonce + Array(created.utf8) + Array("pa<ss".utf8))
        #expect(digest == Encoding.base64(expected), "the digest is over the unescaped password")
        #expect(!xml.contains("pa<ss") && !xml.contains("pa&lt;ss"), "the password itself is not sent")
    }

    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)"), let end = xml.range(of: ">", range: open.upperBound..<xml.endIndex),
            let close = xml.range(of: "</\(name)>", range: end.upperBound..<xml.endIndex)
        else { return nil }
        return String(xml[end.upperBound..<close.lowerBound])
    }

    @Test
    func writesSOAP12AndPlainXML() throws {
        let soap12 = try Self.operation(
            #"{"scope": "x.read", "idempotent": true, "request": {"method": "POST", "path": "/ws", "format": "xml", "soap": {"version": "1.2", "action": "urn:a"}, "xmlRoot": "Q", "body": {"A": "1"}}}"#
        )
        let request = try BackendRequestBuilder.build(soap12.request, context: try Self.context())
        #expect(request.headers["content-type"] == #"application/soap+xml; charset=utf-8; action="urn:a""#)
        #expect(request.headers["SOAPAction"] == nil)
        let text = String(decoding: request.body, as: UTF8.self)
        #expect(text.contains(#"xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope""#))
        let plain = try Self.operation(
            #"{"scope": "x.read", "idempotent": true, "request": {"method": "POST", "path": "/ws", "format": "xml", "soap": {"version": "none"}, "namespaces": {"p": "urn:p"}, "xmlRoot": "p:Q", "body": {"p:A": "1"}}}"#
        )
        let bare = try BackendRequestBuilder.build(plain.request, context: try Self.context())
        #expect(
            String(decoding: bare.body, as: UTF8.self)
                == #"<?xml version="1.0" encoding="UTF-8"?><p:Q xmlns:p="urn:p"><p:A>1</p:A></p:Q>"#)
        #expect(bare.headers["content-type"] == "application/xml; charset=utf-8")
    }

    @Test
    func refusesAValueTheBackendsCharsetCannotWrite() throws {
        let operation = try Self.operation(Self.soapOperation)
        #expect(throws: BackendRequestBuilder.Failure.unencodable(charset: "GBK")) {
            _ = try BackendRequestBuilder.build(
                operation.request, context: try Self.context(#"{"no":"😀","day":"2026-11-28","sex":"male"}"#))
        }
    }

    /// Every manifest mistake the new fields can carry, and the problem it gets.
    static let mistakes: [(String, String)] = [
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "Q", "body": {"@xmlns:gjj": "x"}}"#,
            "$.operations.op.request.body.@xmlns:gjj: '@xmlns:gjj' is not an XML element name"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "gjj:Q", "body": {"A": "x"}}"#,
            "$.operations.op.request.xmlRoot: the prefix 'gjj' is not declared in namespaces"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "namespaces": {"soapenv": "urn:x"}, "xmlRoot": "Q"}"#,
            "$.operations.op.request.namespaces.soapenv: is reserved for the envelope"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "Q", "body": {"a:b:c": "x"}}"#,
            "$.operations.op.request.body.a:b:c: 'a:b:c' is not an XML element name"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "xmlThing"}"#,
            "$.operations.op.request.xmlRoot: names beginning with xml are reserved"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "Q", "headers": {"SOAPAction": "urn:a"}}"#,
            "$.operations.op.request.headers.SOAPAction: set soap.action instead"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "json", "soap": {"version": "1.1"}}"#,
            "$.operations.op.request.soap: applies to xml bodies only"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "Q", "soap": {"version": "2.0"}}"#,
            "$.operations.op.request.soap.version: must be 1.1, 1.2 or none"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "Q", "soap": {"security": {"username": "admin", "password": "{secret.p}"}}}"#,
            "$.operations.op.request.soap.security.username: must be {secret.<name>}"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "Q", "soap": {"version": "none", "security": {"username": "{secret.u}", "password": "{secret.p}"}}}"#,
            "$.operations.op.request.soap.security: a WS-Security header needs a SOAP envelope"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "xml", "xmlRoot": "Q", "soap": {"action": "urn:\"a"}}"#,
            "$.operations.op.request.soap.action: must be a URI"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "json", "charset": "latin-9"}"#,
            "$.operations.op.request.charset: must be one of UTF-8, GBK, GB18030, GB2312"
        ),
        (
            #""request": {"method": "POST", "path": "/", "format": "form", "charset": "GBK", "body": {"a": "1"}}"#,
            "$.operations.op.request.charset: form bodies are percent-encoded UTF-8"
        ),
        (
            #""request": {"method": "POST", "path": "/", "body": {"a": "{city.code|date:yyyy}"}}"#,
            "$.operations.op.request.body.a: placeholder {city.code|date:yyyy} has an unknown filter"
        ),
        (
            #""request": {"method": "POST", "path": "/", "body": [{"element": "a"}]}"#,
            "$.operations.op.request.body[0].value: is required"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "$.a", "type": "float"}}}"#,
            "$.operations.op.response.fields.a.type: must be string, number, integer or boolean"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "a.b"}}}"#,
            "$.operations.op.response.fields.a.path: must be a path like $.data.amount"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"type": "number"}}}"#,
            "$.operations.op.response.fields.a: needs path or concat"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "$.a", "default": "x"}}}"#,
            "$.operations.op.response.fields.a.default: is the text for codes the table does not list"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "$.a", "codes": {"1": 2}}}}"#,
            "$.operations.op.response.fields.a.codes: must map backend codes to texts"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "$.a", "date": "ddMMyy"}}}"#,
            "$.operations.op.response.fields.a.date: must be a pattern of yyyy, MM, dd, HH, mm, ss"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "$.a", "date": "yyyyMMddHHmmss"}}}"#,
            "$.operations.op.response.fields.a.date: has a time of day: use datetime"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "$.a", "datetime": "yyyyMMddHHmmss", "zone": "CST"}}}"#,
            "$.operations.op.response.fields.a.zone: must be an offset like +08:00 or Z"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"fields": {"a": {"path": "$.a", "each": {"b": "$.b"}, "type": "string"}}}"#,
            "$.operations.op.response.fields.a: each maps elements with recipes of their own"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"faults": {"map": {"E1": {"problem": "Bad Slug", "status": 404, "message": "m"}}}}"#,
            "$.operations.op.response.faults.map.E1.problem: must be a problem slug"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"faults": {"map": {"E1": {"problem": "a-b", "status": 302, "message": "m"}}}}"#,
            "$.operations.op.response.faults.map.E1.status: must be"
        ),
        (
            #""request": {"method": "GET", "path": "/"}, "response": {"faults": {"codePath": "detail", "map": {}}}"#,
            "$.operations.op.response.faults.codePath: must be a path inside the Fault element"
        ),
    ]

    @Test(arguments: mistakes)
    func reportsEachManifestMistake(_ fragment: String, _ expected: String) {
        let (_, problems) = Self.load(#"{"scope": "x.read", "idempotent": true, \#(fragment)}"#)
        #expect(
            problems.contains { $0.hasPrefix("services/t.s.json: \(expected)") },
            "expected \(expected), got \(problems)")
    }
}
