import CityGate
import Foundation
import HTTPServer
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway binary with `gateway.json` `tls` and pinned client certificates: partners and a
/// backend known by their certificates, refused with a problem before any handler when they
/// present none, another's, an expired or an untrusted one; clients we did not write (Python
/// `requests`, the curl CLI); certificate reload through `/admin/reload`.
@Suite(.serialized)
struct EdgeTLSTests {
    /// A gateway whose public listener speaks TLS: webhooks-demo pinned by key (two keys, one
    /// expired), wechat-city by issuer and subject, the approvals backend by key.
    final class Fixture: Sendable {
        let pki: TestPKI
        let environment: CallEndToEndTests.Environment

        init() async throws {
            let pki = try await TestPKI()
            try await pki.issue("webhooks", cn: "webhooks-demo")
            try await pki.issue("webhooks-stale", cn: "webhooks-demo", days: -1)
            try await pki.issue("wechat", cn: "wechat-city", organization: "Partner")
            try await pki.authority("impostor-ca", cn: "CityGate Test CA")
            try await pki.issue("wechat-forged", cn: "wechat-city", organization: "Partner", authority: "impostor-ca")
            try await pki.issue("wechat-other", cn: "wechat-city", organization: "Partner", authority: "other-ca")
            try await pki.issue("approvals", cn: "approvals-330100")
            try await pki.issue("stranger", cn: "stranger")
            let webhooksPins = [try await pki.spkiPin("webhooks"), try await pki.spkiPin("webhooks-stale")]
            let approvalsPin = try await pki.spkiPin("approvals")
            let directory = pki.directory.path
            environment = try CallEndToEndTests.Environment(extraEdits: [
                "gateway.json": { gateway in
                    gateway["tls"] = [
                        "certificate": "file:\(directory)/server.pem", "key": "file:\(directory)/server.key",
                        "clientCA": "file:\(directory)/ca.pem",
                    ]
                },
                "partners/webhooks-demo.json": { partner in
                    partner["clientCertificates"] = webhooksPins.map { ["spkiSha256": $0] }
                },
                "partners/wechat-city.json": { partner in
                    partner["clientCertificates"] = [
                        ["issuer": "CN=CityGate Test CA", "subject": "CN=wechat-city,O=Partner"]
                    ]
                },
                "cities/330100.json": { city in
                    var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                    backends["approvals"]?["clientCertificates"] = [["spkiSha256": approvalsPin]]
                    city["backends"] = backends
                },
            ])
            self.pki = pki
        }

        func options(_ certificate: String? = nil) -> TestTLSClient.Options {
            .init(
                caFile: pki.path("ca.pem"), certificateFile: certificate.map { pki.path("\($0).pem") },
                keyFile: certificate.map { pki.path("\($0).key") })
        }

        func call(_ partner: String, certificate: String?) throws -> RawClient.Response {
            let signed = try RequestSigner(partner: try environment.partner(partner)).sign(
                path: "/v1/cities/330100/services/service-hall.queue/status", body: Array(#"{"hall":"west-lake"}"#.utf8)
            )
            return try environment.send(signed, tls: options(certificate))
        }

        func stop() { environment.stop() }
    }

    static func problemType(_ response: RawClient.Response) -> String {
        ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any])?["type"] as? String ?? ""
    }

    @Test
    func partnersAreKnownByTheirPinnedCertificates() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let accepted = try fixture.call("webhooks-demo", certificate: "webhooks")
        #expect(accepted.statusCode == 200, "\(accepted.text)")
        let wechat = try fixture.call("wechat-city", certificate: "wechat")
        #expect(Self.problemType(wechat).hasSuffix("client-certificate-rejected") == false, "\(wechat.text)")
        #expect(wechat.statusCode != 403 || !wechat.text.contains("certificate"), "\(wechat.text)")

        let refusals: [(String, String?, Int, String, String)] = [
            ("webhooks-demo", nil, 403, "client-certificate-required", "present it in the TLS handshake"),
            ("webhooks-demo", "wechat", 403, "client-certificate-mismatch", "belongs to another party"),
            ("webhooks-demo", "webhooks-stale", 403, "client-certificate-rejected", "outside its validity period"),
            ("webhooks-demo", "stranger", 403, "client-certificate-rejected", "not one Partner webhooks-demo"),
            ("wechat-city", "wechat-forged", 403, "client-certificate-rejected", "chain does not verify"),
            ("wechat-city", "wechat-other", 403, "client-certificate-rejected", "not one Partner wechat-city"),
            ("wechat-city", "webhooks", 403, "client-certificate-mismatch", "belongs to another party"),
            // A partner that pins nothing may not use another's certificate either.
            ("alipay-city", "webhooks", 403, "client-certificate-mismatch", "belongs to another party"),
        ]
        for (partner, certificate, status, type, detail) in refusals {
            let response: RawClient.Response
            do { response = try fixture.call(partner, certificate: certificate) } catch {
                Issue.record("\(partner) with \(certificate ?? "none"): \(error)")
                continue
            }
            #expect(response.statusCode == status, "\(partner) with \(certificate ?? "none"): \(response.text)")
            #expect(Self.problemType(response).hasSuffix(type), "\(partner) with \(certificate ?? "none")")
            #expect(response.text.contains(detail), "\(response.text)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.header("X-Request-Id") != nil)
        }
        // The backend was reached once per accepted call only: refusals came before any handler.
        let log = try String(contentsOf: fixture.environment.gateway.outputFile, encoding: .utf8)
        #expect(!log.contains(try await fixture.pki.spkiPin("webhooks")), "pins are not logged")
    }

    @Test
    func aBackendReportsProgressWithItsCertificate() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let manifests = try ManifestSet.load(directory: fixture.environment.manifests).get()
        let reporter = try #require(manifests.progressReporter(city: "330100", backend: "approvals"))
        func report(_ certificate: String?) throws -> RawClient.Response {
            let request = try RequestSigner(partner: reporter).sign(
                path: "/v1/cities/330100/backends/approvals/cases/NO-SUCH-CASE/events",
                body: Array(#"{"id":"e1","stage":"review"}"#.utf8))
            return try fixture.environment.send(request, tls: fixture.options(certificate))
        }
        let without = try report(nil)
        #expect(without.statusCode == 403 && Self.problemType(without).hasSuffix("client-certificate-required"))
        let partners = try report("webhooks")
        #expect(Self.problemType(partners).hasSuffix("client-certificate-mismatch"), "\(partners.text)")
        let own = try report("approvals")
        #expect(Self.problemType(own).hasSuffix("unknown-case"), "past the gate to the handler: \(own.text)")
    }

    @Test
    func clientsWeDidNotWriteConnect() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let secret = try String(
            contentsOfFile: ExternalProcess.packageRoot.appendingPathComponent("mocks/keys/webhooks-demo.secret").path,
            encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let pki = fixture.pki
        var command: [String: Any] = [
            "op": "standardwebhooks-call", "secret": secret, "port": Int(fixture.environment.gateway.publicPort),
            "path": "/v1/cities/330100/services/service-hall.queue/status", "partner": "webhooks-demo",
            "body": #"{"hall":"citizen-center"}"#,
            "tls": ["ca": pki.path("ca.pem"), "cert": pki.path("webhooks.pem"), "key": pki.path("webhooks.key")],
        ]
        let accepted = try await Interop.run(command)
        #expect(accepted["status"] as? Int == 200, "Python requests with the partner's certificate: \(accepted)")
        command["tls"] = ["ca": pki.path("ca.pem")]
        let refused = try await Interop.run(command)
        #expect(refused["status"] as? Int == 403, "\(refused)")
        #expect((refused["body"] as? String)?.contains("client-certificate-required") == true)

        let curl = ExternalProcess.which("curl") ?? "/usr/bin/curl"
        let port = fixture.environment.gateway.publicPort
        let health = try await ExternalProcess.run(
            curl, ["-sS", "--cacert", pki.path("ca.pem"), "https://127.0.0.1:\(port)/healthz"])
        #expect(health.status == 0 && health.standardOutput.contains("ok"), "\(health.standardError)")
        let catalog = try await ExternalProcess.run(
            curl,
            [
                "-sS", "--cacert", pki.path("ca.pem"), "--cert", pki.path("webhooks.pem"), "--key",
                pki.path("webhooks.key"), "https://localhost:\(port)/v1/cities/330100/services",
            ])
        #expect(
            catalog.status == 0 && catalog.standardOutput.contains("service-hall.queue"), "\(catalog.standardError)")
        let cleartext = try await ExternalProcess.run(curl, ["-sS", "-m", "5", "http://127.0.0.1:\(port)/healthz"])
        #expect(cleartext.status != 0, "cleartext HTTP is not served on the TLS listener")
    }

    @Test
    func certificatesReloadAndAnInvalidOneIsRefused() async throws {
        let fixture = try await Fixture()
        defer { fixture.stop() }
        let pki = fixture.pki
        try await pki.issue("renewed", cn: "renewed.example", extensions: "server.ext")
        let before = try RawClient(port: fixture.environment.gateway.publicPort, tls: fixture.options())
        #expect(before.tlsSession?.serverCommonName == "127.0.0.1")

        // A key that does not match: the reload is refused, the old certificate keeps serving.
        try FileManager.default.removeItem(atPath: pki.path("server.pem"))
        try FileManager.default.copyItem(atPath: pki.path("renewed.pem"), toPath: pki.path("server.pem"))
        let refused = try CaseEndToEndTests.admin(fixture.environment, "POST", "/admin/reload")
        #expect(refused.statusCode == 422, "\(refused.text)")
        #expect(refused.text.contains("$.tls.key"), "\(refused.text)")
        let stillOld = try RawClient(port: fixture.environment.gateway.publicPort, tls: fixture.options())
        #expect(stillOld.tlsSession?.serverCommonName == "127.0.0.1")

        try FileManager.default.removeItem(atPath: pki.path("server.key"))
        try FileManager.default.copyItem(atPath: pki.path("renewed.key"), toPath: pki.path("server.key"))
        let applied = try CaseEndToEndTests.admin(fixture.environment, "POST", "/admin/reload")
        #expect(applied.statusCode == 200, "\(applied.text)")
        let after = try RawClient(port: fixture.environment.gateway.publicPort, tls: fixture.options())
        #expect(after.tlsSession?.serverCommonName == "renewed.example")
        let status = try CallEndToEndTests.json(try CaseEndToEndTests.admin(fixture.environment, "GET", "/status"))
        let tls = try #require(status["tls"] as? [String: Any])
        #expect(tls["certificateSubject"] as? String == "CN=renewed.example", "\(tls)")
        #expect(tls["requestsClientCertificates"] as? Bool == true)
        #expect((tls["certificateDaysLeft"] as? Int).map { $0 >= 0 && $0 <= 1 } == true, "\(tls)")
        let metrics = try CaseEndToEndTests.admin(fixture.environment, "GET", "/metrics").text
        #expect(metrics.contains("citygate_tls_certificate_not_after_seconds "), "the expiry gauge is exported")
        try before.send("GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n")
        #expect(try before.readResponse().statusCode == 200, "a connection from before the reload is still served")
    }

    @Test
    func configurationProblemsNameTheField() async throws {
        let pki = try await TestPKI()
        try await pki.issue("stale", cn: "stale", days: -1)
        let directory = pki.directory.path
        func tls(_ value: [String: Any]) -> [String: @Sendable (inout [String: Any]) -> Void] {
            let copy = value.mapValues { "\($0)" }
            return ["gateway.json": { $0["tls"] = copy }]
        }
        let cases: [([String: @Sendable (inout [String: Any]) -> Void], String)] = [
            (tls(["certificate": "file:\(directory)/server.pem"]), "gateway.json: $.tls.key: is required"),
            (
                tls(["certificate": "file:\(directory)/stale.pem", "key": "file:\(directory)/stale.key"]),
                "gateway.json: $.tls.certificate: not valid now"
            ),
            (
                tls(["certificate": "file:\(directory)/server.pem", "key": "file:\(directory)/ca.key"]),
                "gateway.json: $.tls.key: does not match the certificate"
            ),
            (
                tls(["certificate": "file:\(directory)/server.pem", "key": "-----BEGIN PRIVATE KEY-----"]),
                "gateway.json: $.tls.key: must be an env: or file: reference"
            ),
            (
                tls([
                    "certificate": "file:\(directory)/server.pem", "key": "file:\(directory)/server.key", "port": "1",
                ]), "gateway.json: $.tls.port"
            ),
            (
                ["partners/webhooks-demo.json": { $0["clientCertificates"] = [["spkiSha256": "abc"]] }],
                "partners/webhooks-demo.json: $.clientCertificates[0].spkiSha256: must be the base64 SHA-256"
            ),
            (
                [
                    "partners/webhooks-demo.json": {
                        $0["clientCertificates"] = [["spkiSha256": String(repeating: "A", count: 43) + "="]]
                    }
                ],
                "partners/webhooks-demo.json: $.clientCertificates: client certificates arrive only over TLS"
            ),
            (
                [
                    "partners/webhooks-demo.json": { $0["clientCertificates"] = [["issuer": "CN=x"]] }
                ],
                "partners/webhooks-demo.json: $.clientCertificates[0]: needs spkiSha256, or issuer and subject"
            ),
        ]
        for (edits, expected) in cases {
            let problems = try ManifestSetTests.problems(edits)
            #expect(problems.contains { $0.hasPrefix(expected) }, "expected \(expected), got \(problems)")
        }
        let audit = try ManifestSetTests.problems(["gateway.json": { $0["audit"] = ["hash": "md5"] }])
        #expect(audit.contains("gateway.json: $.audit.hash: must be sha256 or sm3"), "\(audit)")
        let issuedWithoutCA = try ManifestSetTests.problems([
            "gateway.json": {
                $0["tls"] = ["certificate": "file:\(directory)/server.pem", "key": "file:\(directory)/server.key"]
            },
            "partners/wechat-city.json": { $0["clientCertificates"] = [["issuer": "CN=a", "subject": "CN=b"]] },
        ])
        #expect(issuedWithoutCA.contains { $0.contains("needs gateway.json tls.clientCA") }, "\(issuedWithoutCA)")
    }
}
