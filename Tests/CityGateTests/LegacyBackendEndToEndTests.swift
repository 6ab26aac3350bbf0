import CityGate
import Cryptography
import Foundation
import TestSupport
import Testing

/// Ningbo's two sample backends through the gateway binary, as a city IT team registers them:
/// the provident fund's SOAP 1.1 service (GBK, namespaces, WS-Security digest, faults with codes)
/// and the birth-registration bundle (JSON in the backend's own vocabulary, opening a case).
@Suite(.serialized)
struct LegacyBackendEndToEndTests {
    typealias OAuth = OAuthEndToEndTests

    static func token(_ environment: CallEndToEndTests.Environment, scope: String) throws -> String {
        try OAuth.citizenToken(
            environment, [("scope", scope)], assertion: try OAuth.assertion(city: "330200"))
    }

    @Test
    func theProvidentFundAnswersTypedFieldsAndItsFaultsBecomeProblems() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let token = try Self.token(environment, scope: "housing-fund.read")
        let answer = try OAuth.call(
            environment, city: "330200", "housing-fund.account", "query",
            input: #"{"accountNo":"NB2015080100123","idNumber":"33010619900101123X"}"#, token: token)
        #expect(answer.statusCode == 200, "\(answer.text)")
        #expect(
            answer.text
                == #"{"accountNo":"NB2015080100123","balance":52310.45,"deposits":[{"amount":2400.00,"month":"202610","paidOn":"2026-10-15"},{"amount":2400.00,"month":"202611","paidOn":"2026-11-15"}],"frozen":false,"monthlyDeposit":2400,"openedOn":"2015-08-01","paidMonths":["202610","202611"],"status":"normal","updatedAt":"2026-12-02T16:45:33+08:00"}"#,
            "typed, converted from GBK SOAP: \(answer.text)")

        // Another citizen's account: the fund's fault (GJJ-1001, its faultstring naming the
        // account) becomes the manifest's 404 with its own bilingual message.
        let refused = try OAuth.call(
            environment, city: "330200", "housing-fund.account", "query",
            input: #"{"accountNo":"NB2011030500077","idNumber":"33010619900101123X"}"#, token: token)
        #expect(refused.statusCode == 404, "\(refused.text)")
        let problem = try CallEndToEndTests.json(refused)
        #expect((problem["type"] as? String)?.hasSuffix(":account-not-found") == true)
        #expect(problem["detail"] as? String == "没有与这个证件号码相符的公积金账户。No provident fund account matches this ID number.")
        #expect(!refused.text.contains("NB2011030500077"), "the backend's faultstring is not passed on")
    }

    @Test
    func wrongWSSecurityCredentialsAreTheManifestsProblem() throws {
        let password = FileManager.default.temporaryDirectory.appendingPathComponent("gjj-\(UUID().uuidString)").path
        try "not-the-password\n".write(toFile: password, atomically: true, encoding: .utf8)
        let environment = try CallEndToEndTests.Environment(extraEdits: [
            "cities/330200.json": { city in
                var credentials = city["credentials"] as? [String: [String: Any]] ?? [:]
                credentials["gjj-ws-password"]?["value"] = "file:\(password)"
                city["credentials"] = credentials
            }
        ])
        defer { environment.stop() }
        let token = try Self.token(environment, scope: "housing-fund.read")
        let answer = try OAuth.call(
            environment, city: "330200", "housing-fund.account", "query",
            input: #"{"accountNo":"NB2015080100123","idNumber":"33010619900101123X"}"#, token: token)
        #expect(answer.statusCode == 502, "\(answer.text)")
        #expect(answer.text.contains("backend-credentials-refused"))
        #expect(!answer.text.contains("not-the-password"))
    }

    @Test
    func aBirthApplicationOpensOneCaseEvenWhenRetried() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let token = try Self.token(environment, scope: "birth.write cases.read")
        let input =
            #"{"mother":{"name":"张三","idNumber":"33010619900101123X"},"baby":{"name":"张小宝","gender":"female","birthDate":"2026-11-28"},"hospital":"宁波市妇女儿童医院"}"#
        func apply() throws -> RawClient.Response {
            var signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
                path: "/v1/cities/330200/services/birth.registration/apply", body: Array(input.utf8))
            signed.headers.add(name: "Authorization", value: "Bearer \(token)")
            signed.headers.add(name: "Idempotency-Key", value: "birth-2026-11-28-zhang")
            return try environment.send(signed)
        }
        let first = try apply()
        #expect(first.statusCode == 200, "\(first.text)")
        let answer = try CallEndToEndTests.json(first)
        let number = try #require(answer["caseNumber"] as? String)
        #expect(number.hasPrefix("NB-CS-2026-"))
        #expect(answer["stage"] as? String == "accepted", "status 01 through the code table")
        #expect(answer["acceptedAt"] as? String == "2026-12-02T16:45:33+08:00")
        let items = try #require(answer["items"] as? [[String: Any]])
        #expect(items.map { $0["state"] as? String } == ["in-progress", "waiting", "waiting"])
        #expect(answer["deadlines"] is [String: String], "the case is recorded with its working-day deadlines")
        let retried = try apply()
        #expect(retried.header("Idempotent-Replayed") == "true", "\(retried.text)")
        #expect((try CallEndToEndTests.json(retried))["caseNumber"] as? String == number)
    }
}

/// Documents (电子证照): a birth certificate passed through as the PDF the backend issued (opened
/// by pypdf, strictly), and a supporting document uploaded as multipart/form-data.
@Suite(.serialized)
struct DocumentEndToEndTests {
    typealias OAuth = OAuthEndToEndTests

    static func call(
        _ environment: CallEndToEndTests.Environment, _ operation: String, input: String, token: String
    ) throws -> RawClient.Response {
        try OAuth.call(environment, city: "330200", "birth.registration", operation, input: input, token: token)
    }

    @Test
    func aCertificateComesBackAsItsPDFAndADocumentGoesUpAsMultipart() async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let token = try LegacyBackendEndToEndTests.token(environment, scope: "birth.write birth.read")
        let applied = try Self.call(
            environment, "apply",
            input:
                #"{"mother":{"name":"张三","idNumber":"33010619900101123X"},"baby":{"name":"张小宝","gender":"male","birthDate":"2026-11-28"},"hospital":"宁波市妇女儿童医院"}"#,
            token: token)
        let number = try #require(try CallEndToEndTests.json(applied)["caseNumber"] as? String, "\(applied.text)")

        let certificate = try Self.call(
            environment, "certificate", input: #"{"caseNumber":"\#(number)"}"#, token: token)
        #expect(certificate.statusCode == 200, "\(certificate.text)")
        #expect(certificate.header("Content-Type") == "application/pdf")
        #expect(certificate.header("Content-Disposition") == "attachment; filename=\"birth-certificate-\(number).pdf\"")
        #expect(certificate.header("X-Content-Type-Options") == "nosniff")
        #expect(certificate.body.starts(with: Array("%PDF-".utf8)))
        let opened = try await Interop.run(
            ["op": "pdf-text", "pdf": Data(certificate.body).base64EncodedString()], script: "contracts.py")
        #expect(opened["pages"] as? Int == 1, "\(opened)")
        #expect((opened["text"] as? String)?.contains("Birth certificate \(number)") == true, "\(opened)")

        let missing = try Self.call(
            environment, "certificate", input: #"{"caseNumber":"NB-CS-2026-999999"}"#, token: token)
        #expect(missing.statusCode == 404 && missing.text.contains("certificate-not-issued"), "\(missing.text)")

        let upload = try Self.call(
            environment, "attach",
            input:
                #"{"caseNumber":"\#(number)","filename":"hospital-record.pdf","document":"\#(Data(certificate.body).base64EncodedString())"}"#,
            token: token)
        #expect(upload.statusCode == 200, "\(upload.text)")
        let receipt = try CallEndToEndTests.json(upload)
        #expect(receipt["size"] as? Int == certificate.body.count, "the bytes arrived whole")
        let digest = try Digest.sha256.hash(certificate.body)
        #expect(receipt["sha256"] as? String == Encoding.hex(digest))

        let notPDF = try Self.call(
            environment, "attach",
            input:
                #"{"caseNumber":"\#(number)","filename":"x.pdf","document":"\#(Data("<html>hi</html>".utf8).base64EncodedString())"}"#,
            token: token)
        #expect(notPDF.statusCode == 422 && notPDF.text.contains("is not a application/pdf document"), "\(notPDF.text)")
        let notBase64 = try Self.call(
            environment, "attach", input: #"{"caseNumber":"\#(number)","filename":"x.pdf","document":"%%%%%%%%%%"}"#,
            token: token)
        #expect(notBase64.statusCode == 422 && notBase64.text.contains("is not base64"), "\(notBase64.text)")
    }
}
