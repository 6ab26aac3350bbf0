import CityGate
import Foundation
import Store
import TestSupport
import Testing

struct PartnerConfigurationTests {
    static let manifests = ExternalProcess.packageRoot.appendingPathComponent("manifests").path
    static let samplePartners = ["webhooks-demo", "wechat-city", "wechatpay-city", "alipay-city", "hmac-demo"]

    static func loadSample(_ id: String) throws -> PartnerConfiguration {
        try PartnerConfiguration.load(path: "\(manifests)/partners/\(id).json", displayName: "partners/\(id).json")
            .get()
    }

    @Test(arguments: samplePartners)
    func sampleLoads(id: String) throws {
        let partner = try Self.loadSample(id)
        #expect(partner.id == id)
        #expect(!partner.scheme.keyIds.isEmpty)
    }

    /// Writes `json` as partners/<id>.json in a fresh directory and loads it.
    func load(_ json: String, id: String = "p", environment: [String: String] = [:], files: [String: String] = [:])
        throws -> [String]
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "citygate-partners-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, content) in files {
            try content.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let path = directory.appendingPathComponent("\(id).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        switch PartnerConfiguration.load(path: path, displayName: "partners/\(id).json", environment: environment) {
        case .success: return []
        case .failure(let problems): return problems.problems.map(\.description)
        }
    }

    struct Broken: CustomStringConvertible, Sendable {
        let name: String
        let json: String
        let expected: [String]
        var description: String { name }
    }

    static let broken: [Broken] = [
        Broken(
            name: "inline secret",
            json: #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"hunter2"}]}"#,
            expected: [
                "partners/p.json: $.keys[0].secret: must be an env: or file: reference, not an inline secret",
                "partners/p.json: $.keys[0]: needs secret",
            ]),
        Broken(
            name: "unknown field and scheme",
            json:
                #"{"id":"p","name":"P","scheme":"rot13","cities":[],"keys":[{"id":"k","secret":"env:S"}],"clockSkew":5}"#,
            expected: [
                "partners/p.json: $.clockSkew: unknown field (allowed: cities, clientCertificates, clients, clockSkewSeconds, debugSignatures, id, keys, name, push, scheme)",
                "partners/p.json: $.scheme: unknown scheme 'rot13' (known: standard-webhooks, wechat, wechatpay-v3, alipay-rsa2, hmac-sha256, sm2-sm3)",
            ]),
        Broken(
            name: "missing environment variable",
            json:
                #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"env:NOT_SET_ANYWHERE"}]}"#,
            expected: [
                "partners/p.json: $.keys[0].secret: environment variable NOT_SET_ANYWHERE is not set",
                "partners/p.json: $.keys[0]: needs secret",
            ]),
        Broken(
            name: "id not the file name",
            json: #"{"id":"other","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"env:S"}]}"#,
            expected: ["partners/p.json: $.id: must match the file name ('p')"]),
        Broken(
            name: "bad city and skew",
            json:
                #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":["3301","abcdef"],"keys":[{"id":"k","secret":"env:S"}],"clockSkewSeconds":true}"#,
            expected: [
                "partners/p.json: $.clockSkewSeconds: must be a whole number",
                "partners/p.json: $.cities[0]: must be a 6-digit administrative code",
                "partners/p.json: $.cities[1]: must be a 6-digit administrative code",
            ]),
        Broken(
            name: "duplicate key ids",
            json:
                #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"env:S"},{"id":"k","secret":"env:S"}]}"#,
            expected: ["partners/p.json: $.keys[1].id: duplicate key id 'k'"]),
        Broken(
            name: "no keys", json: #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[]}"#,
            expected: ["partners/p.json: $.keys: must list at least one key"]),
        Broken(
            name: "wrong types",
            json:
                #"{"id":"p","name":7,"scheme":"hmac-sha256","cities":"330100","keys":{"id":"k"},"debugSignatures":1}"#,
            expected: [
                "partners/p.json: $.name: must be a string",
                "partners/p.json: $.debugSignatures: must be true or false",
                "partners/p.json: $.cities: must be an array", "partners/p.json: $.keys: must be an array",
            ]),
        Broken(name: "not JSON", json: "{\"id\": ", expected: ["partners/p.json: $: is not valid JSON"]),
        Broken(
            name: "wechatpay without apiV3Key",
            json:
                #"{"id":"p","name":"P","scheme":"wechatpay-v3","cities":[],"keys":[{"id":"k","certificate":"file:missing.pem"}]}"#,
            expected: [
                "partners/p.json: $.keys[0].certificate: cannot read", "partners/p.json: $.keys[0]: needs certificate",
                "partners/p.json: $.wechatpay: is required for wechatpay-v3 (apiV3Key)",
            ]),
        Broken(
            name: "unknown key field",
            json:
                #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"env:S","algorithm":"md5"}]}"#,
            expected: [
                "partners/p.json: $.keys[0].algorithm: unknown field (allowed: id, secret)"
            ]),
        Broken(
            name: "another scheme's key field",
            json: #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","token":"env:S"}]}"#,
            expected: [
                "partners/p.json: $.keys[0].token: unknown field (allowed: id, secret)",
                "partners/p.json: $.keys[0]: needs secret",
            ]),
        Broken(
            name: "another scheme's section",
            json:
                #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"env:S"}],"wechat":{"appId":"wx1"}}"#,
            expected: [
                "partners/p.json: $.wechat: unknown field (allowed: cities, clientCertificates, clients, clockSkewSeconds, debugSignatures, id, keys, name, push, scheme)"
            ]),
        Broken(
            name: "wechat section's own fields",
            json:
                #"{"id":"p","name":"P","scheme":"wechat","cities":[],"keys":[{"id":"k","token":"env:S"}],"wechat":{"appId":"wx1","aesKey":"x","encodingAESKey":"env:S"}}"#,
            expected: [
                "partners/p.json: $.wechat.aesKey: unknown field (allowed: appId, encodingAESKey)",
                "partners/p.json: $.wechat.encodingAESKey: must resolve to 43 base64 characters",
            ]),
        Broken(
            name: "wechatpay section without its key",
            json:
                #"{"id":"p","name":"P","scheme":"wechatpay-v3","cities":[],"keys":[{"id":"k","certificate":"file:missing.pem"}],"wechatpay":{}}"#,
            expected: [
                "partners/p.json: $.keys[0].certificate: cannot read", "partners/p.json: $.keys[0]: needs certificate",
                "partners/p.json: $.wechatpay.apiV3Key: is required",
            ]),
        Broken(
            name: "alipay key that is not PEM",
            json: #"{"id":"p","name":"P","scheme":"alipay-rsa2","cities":[],"keys":[{"id":"k","publicKey":"env:S"}]}"#,
            expected: [
                "partners/p.json: $.keys[0].publicKey: must resolve to a PEM public key",
                "partners/p.json: $.keys[0]: needs publicKey",
            ]),
        Broken(
            name: "standard-webhooks secret without whsec_ base64",
            json:
                #"{"id":"p","name":"P","scheme":"standard-webhooks","cities":[],"keys":[{"id":"k","secret":"env:S"}]}"#,
            expected: [
                "partners/p.json: $.keys[0].secret: must resolve to whsec_ followed by base64",
                "partners/p.json: $.keys[0]: needs secret (whsec_) or publicKey (whpk_)",
            ]),
        Broken(
            name: "push to a scheme without a message channel",
            json:
                #"{"id":"p","name":"P","scheme":"wechatpay-v3","cities":[],"keys":[{"id":"k","certificate":"env:S"}],"wechatpay":{"apiV3Key":"env:S"},"push":{"url":"http://127.0.0.1:1/p"}}"#,
            expected: [
                "partners/p.json: $.keys[0].certificate: must resolve to a PEM X.509 certificate",
                "partners/p.json: $.keys[0]: needs certificate",
                "partners/p.json: $.wechatpay.apiV3Key: must resolve to 32 bytes",
                "partners/p.json: $.push: wechatpay-v3 has no message channel to the applicant",
            ]),
        Broken(
            name: "push without the scheme's needs",
            json:
                #"{"id":"p","name":"P","scheme":"wechat","cities":[],"keys":[{"id":"k","token":"env:S"}],"push":{"url":"https://partner.example/push","secret":"env:S"}}"#,
            expected: [
                "partners/p.json: $.push.secret: unknown field (allowed: privateKey, url)",
                "partners/p.json: $.push: needs safe mode (wechat.appId and wechat.encodingAESKey)",
            ]),
        Broken(
            name: "alipay push without the app's key, and a push URL that is not one",
            json:
                #"{"id":"p","name":"P","scheme":"alipay-rsa2","cities":[],"keys":[{"id":"k","publicKey":"env:S"}],"push":{"url":"ftp://partner/push","privateKey":"hunter2"}}"#,
            expected: [
                "partners/p.json: $.keys[0].publicKey: must resolve to a PEM public key",
                "partners/p.json: $.keys[0]: needs publicKey",
                "partners/p.json: $.push.privateKey: must be an env: or file: reference, not an inline secret",
                "partners/p.json: $.push.url: must be an http:// or https:// URL with a host",
            ]),
        Broken(
            name: "alipay push signed with no key",
            json:
                #"{"id":"p","name":"P","scheme":"alipay-rsa2","cities":[],"keys":[{"id":"k","publicKey":"env:S"}],"push":{"url":"http://127.0.0.1/push"}}"#,
            expected: [
                "partners/p.json: $.keys[0].publicKey: must resolve to a PEM public key",
                "partners/p.json: $.keys[0]: needs publicKey",
                "partners/p.json: $.push: needs push.privateKey",
            ]),
        Broken(
            name: "push to an sm2-sm3 partner",
            json:
                #"{"id":"p","name":"P","scheme":"sm2-sm3","cities":[],"keys":[{"id":"k","publicKey":"env:S","userId":""}],"push":{"url":"http://127.0.0.1/push"}}"#,
            expected: [
                "partners/p.json: $.keys[0].userId: must be 1 to 8191 bytes",
                "partners/p.json: $.keys[0].publicKey: must resolve to an SM2 public key (PEM)",
                "partners/p.json: $.push: sm2-sm3 partners cannot be pushed to yet",
            ]),
        Broken(
            name: "push key written inline",
            json:
                #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"env:S"}],"push":{"url":"http://127.0.0.1/push","privateKey":"hunter2"}}"#,
            expected: [
                "partners/p.json: $.push.privateKey: must be an env: or file: reference, not an inline secret"
            ]),
        Broken(
            name: "no scheme",
            json: #"{"id":"p","name":"P","cities":[],"keys":[{"id":"k","secret":"env:S"}]}"#,
            expected: ["partners/p.json: $.scheme: is required"]),
    ]

    @Test(arguments: broken)
    func reportsEveryProblemWithFileAndPath(_ testCase: Broken) throws {
        let problems = try load(testCase.json, environment: ["S": "a demo secret"])
        #expect(problems.count == testCase.expected.count, "\(problems)")
        for expected in testCase.expected {
            #expect(problems.contains { $0.hasPrefix(expected) }, "missing: \(expected) in \(problems)")
        }
        for problem in problems { #expect(!problem.contains("hunter2"), "secrets never appear in messages") }
    }

    @Test
    func fileReferencesResolveAgainstRelativeDirectoriesToo() {
        let reference = SecretReference("file:../mocks/keys/admin.token", relativeTo: "manifests")
        #expect(reference == .file(FileManager.default.currentDirectoryPath + "/mocks/keys/admin.token"))
        #expect(SecretReference("hunter2", relativeTo: "manifests") == nil)
        #expect(SecretReference("env:", relativeTo: "manifests") == nil)
        #expect(SecretReference("env:BAD-NAME", relativeTo: "manifests") == nil)
    }

    @Test
    func fileReferencesResolveRelativeToTheFile() throws {
        #expect(
            try load(
                #"{"id":"p","name":"P","scheme":"hmac-sha256","cities":[],"keys":[{"id":"k","secret":"file:p.secret"}]}"#,
                files: ["p.secret": "s3cret\n"]
            ).isEmpty)
    }
}

/// Every sample partner: sign with RequestSigner, verify with the partner's own configuration,
/// refuse the replay — also after a restart.
struct SignAndVerifyTests {
    @Test(arguments: PartnerConfigurationTests.samplePartners)
    func signedRequestVerifiesOnceAndIsThenAReplay(id: String) async throws {
        let partner = try PartnerConfigurationTests.loadSample(id)
        let body =
            id == "alipay-city"
            ? "out_trade_no=330100-fine-88&total_amount=200.00&trade_status=TRADE_SUCCESS"
            : "{\"case\":\"330100-2026-000123\"}"
        let now = Int64(Date().timeIntervalSince1970)
        let request = try RequestSigner(partner: partner).sign(body: Array(body.utf8), now: now)
        let path = try ReplayStoreTests.temporaryDatabasePath()
        let authenticator = PartnerAuthenticator(
            partner: partner, replayStore: try ReplayStore(database: try Database(path: path)))
        guard case .fresh(let verified) = try await authenticator.authenticate(request, now: now) else {
            Issue.record("the first delivery must be fresh")
            return
        }
        #expect(verified.keyId == partner.scheme.keyIds[0])
        if id != "alipay-city" && id != "wechat-city" { #expect(verified.payload == Array(body.utf8)) }
        guard case .duplicate = try await authenticator.authenticate(request, now: now + 1) else {
            Issue.record("the same request again must be a duplicate")
            return
        }
        let restarted = PartnerAuthenticator(
            partner: partner, replayStore: try ReplayStore(database: try Database(path: path)))
        guard case .duplicate = try await restarted.authenticate(request, now: now + 2) else {
            Issue.record("a replay after a restart must still be a duplicate")
            return
        }
    }

    /// When the replay store cannot record, the request is refused as a storage failure (503 at
    /// the route) and never accepted unrecorded.
    @Test
    func storeThatCannotRecordRefusesInsteadOfAccepting() async throws {
        let partner = try PartnerConfigurationTests.loadSample("webhooks-demo")
        let path = try ReplayStoreTests.temporaryDatabasePath()
        let authenticator = PartnerAuthenticator(
            partner: partner, replayStore: try ReplayStore(database: try Database(path: path)))
        // Break the store from outside, as a failed disk would.
        try Database(path: path).execute("DROP TABLE replay; DROP TABLE replay_log")
        let now = Int64(Date().timeIntervalSince1970)
        let request = try RequestSigner(partner: partner).sign(body: Array("{}".utf8), now: now)
        do {
            _ = try await authenticator.authenticate(request, now: now)
            Issue.record("a request that cannot be recorded must not be accepted")
        } catch {
            guard case .storage = error else {
                Issue.record("expected a storage failure, got \(error)")
                return
            }
        }
    }

    @Test
    func replayLifetimeCoversTheWholeWindow() async throws {
        let partner = try PartnerConfigurationTests.loadSample("webhooks-demo")
        let authenticator = PartnerAuthenticator(
            partner: partner,
            replayStore: try ReplayStore(database: try Database(path: try ReplayStoreTests.temporaryDatabasePath())))
        #expect(authenticator.replayLifetime == 660)
        // Signed 300 s in the future (accepted), replayed 600 s later (still inside its window).
        let now = Int64(Date().timeIntervalSince1970)
        let request = try RequestSigner(partner: partner).sign(body: Array("{}".utf8), now: now + 300)
        guard case .fresh = try await authenticator.authenticate(request, now: now) else {
            Issue.record("fresh expected")
            return
        }
        guard case .duplicate = try await authenticator.authenticate(request, now: now + 600) else {
            Issue.record("duplicate expected")
            return
        }
    }
}
