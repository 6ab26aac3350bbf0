import CityGate
import Foundation
import TestSupport
import Testing

/// The validator against a corpus of broken trees: each case copies the sample tree, breaks it,
/// and expects exactly these `file: json-path: message` lines.
struct ManifestSetTests {
    static let sample = ExternalProcess.packageRoot.appendingPathComponent("manifests")

    /// A copy of the sample tree with `edits` applied (file → mutation of its decoded JSON).
    static func brokenTree(_ edits: [String: @Sendable (inout [String: Any]) -> Void]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "citygate-tree-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: sample, to: directory)
        // Partner files point at ../../mocks/keys; keep that reachable from the copy.
        let mocks = directory.deletingLastPathComponent().appendingPathComponent("mocks")
        if !FileManager.default.fileExists(atPath: mocks.path) {
            try FileManager.default.createSymbolicLink(
                at: mocks, withDestinationURL: ExternalProcess.packageRoot.appendingPathComponent("mocks"))
        }
        for (file, edit) in edits {
            let url = directory.appendingPathComponent(file)
            var object = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]) ?? [:]
            edit(&object)
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
        }
        return directory.path
    }

    static func problems(_ edits: [String: @Sendable (inout [String: Any]) -> Void]) throws -> [String] {
        switch ManifestSet.load(directory: try brokenTree(edits), environment: [:]) {
        case .success: return []
        case .failure(let problems): return problems.problems.map(\.description)
        }
    }

    @Test
    func sampleTreeIsValid() throws {
        let set = try ManifestSet.load(directory: Self.sample.path).get()
        #expect(set.cities.keys.sorted() == ["330100", "330200", "440300"])
        #expect(set.services.count == 7)
        #expect(set.partners.count == 5)
        #expect(set.contentHash.count == 64)
        #expect(
            set.routeLines().contains(
                "POST /v1/cities/330100/services/social-security.account/balance  scope=social-security.read auth=real-name backend=hrss idempotent=true"
            ))
    }

    @Test
    func contentHashFollowsTheBytes() throws {
        let a = try ManifestSet.load(directory: try Self.brokenTree([:])).get().contentHash
        let b = try ManifestSet.load(
            directory: try Self.brokenTree(["services/traffic.violations.json": { $0["version"] = "2.0.2" }])
        ).get().contentHash
        #expect(a == (try ManifestSet.load(directory: Self.sample.path).get().contentHash) || a.count == 64)
        #expect(a != b)
    }

    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let edits: [String: @Sendable (inout [String: Any]) -> Void]
        let expected: [String]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "promised above legal",
            edits: ["services/permit.application.json": { $0["timeLimits"] = ["legalDays": 20, "promisedDays": 25] }],
            expected: [
                "services/permit.application.json: $.timeLimits.promisedDays: (25) is above the legal limit (20 working days)"
            ]),
        Case(
            name: "unknown field", edits: ["services/traffic.violations.json": { $0["enabeld"] = true }],
            expected: ["services/traffic.violations.json: $.enabeld: unknown field"]),
        Case(
            name: "city lacks the backend",
            edits: ["cities/440300.json": { $0["backends"] = ["hrss": ["baseURL": "http://127.0.0.1:18100"]] }],
            expected: [
                "cities/440300.json: $.services.service-hall.queue: the service calls backend 'halls', which this city does not define",
                "cities/440300.json: $.services.traffic.violations: the service calls backend 'traffic-police', which this city does not define",
            ]),
        Case(
            name: "city enables a missing service",
            edits: [
                "cities/440300.json": { city in
                    var services = city["services"] as? [String: Any] ?? [:]
                    services["dog.licence"] = ["enabled": true]
                    city["services"] = services
                }
            ],
            expected: ["cities/440300.json: $.services.dog.licence: no service manifest services/dog.licence.json"]),
        Case(
            name: "partner not listing the city", edits: ["partners/hmac-demo.json": { $0["cities"] = ["330100"] }],
            expected: [
                "cities/440300.json: $.partners[3]: partner 'hmac-demo' does not list this city in its cities"
            ]),
        Case(
            name: "partner names a missing city",
            edits: ["partners/webhooks-demo.json": { $0["cities"] = ["330100", "330200", "440300", "110000"] }],
            expected: ["partners/webhooks-demo.json: $.cities[3]: no city file cities/110000.json"]),
        Case(
            name: "inline secret",
            edits: ["partners/hmac-demo.json": { $0["keys"] = [["id": "k", "secret": "plain-text-secret"]] }],
            expected: [
                "partners/hmac-demo.json: $.keys[0].secret: must be an env: or file: reference, not an inline secret",
                "partners/hmac-demo.json: $.keys[0]: needs secret",
            ]),
        Case(
            name: "template names an undeclared input",
            edits: [
                "services/social-security.account.json": { service in
                    var operations = service["operations"] as? [String: Any] ?? [:]
                    var balance = operations["balance"] as? [String: Any] ?? [:]
                    balance["request"] = [
                        "method": "GET", "path": "/api/v2/accounts/{subject.id}/balance",
                        "query": ["year": "{input.yaer}", "x": "{session.id}"],
                    ]
                    operations["balance"] = balance
                    service["operations"] = operations
                }
            ],
            expected: [
                "services/social-security.account.json: $.operations.balance.request.query.x: placeholder {session.id} has unknown source 'session'",
                "services/social-security.account.json: $.operations.balance.request.query.year: placeholder {input.yaer} names an input field that the input schema does not declare",
                "services/social-security.account.json: $.events.wechat-city:user_authorization_revoke",
            ].dropLast(1).map { $0 }),
        Case(
            name: "retries on a non-idempotent operation",
            edits: [
                "services/household.appointment.json": { service in
                    var operations = service["operations"] as? [String: Any] ?? [:]
                    var book = operations["book"] as? [String: Any] ?? [:]
                    book["retries"] = 2
                    operations["book"] = book
                    service["operations"] = operations
                }
            ],
            expected: [
                "services/household.appointment.json: $.operations.book.retries: only idempotent operations may be retried"
            ]),
        Case(
            name: "disabled without notice", edits: ["services/traffic.violations.json": { $0["enabled"] = false }],
            expected: ["services/traffic.violations.json: $.disabledNotice: is required while the service is disabled"]),
        Case(
            name: "bad response mapping",
            edits: [
                "services/permit.application.json": { service in
                    var operations = service["operations"] as? [String: Any] ?? [:]
                    var progress = operations["progress"] as? [String: Any] ?? [:]
                    progress["response"] = [
                        "fields": ["stage": "data.stage"], "errors": ["200": "ok", "404": "Case Not Found"],
                    ]
                    operations["progress"] = progress
                    service["operations"] = operations
                }
            ],
            expected: [
                "services/permit.application.json: $.operations.progress.response.fields.stage: must be a path like $.data.amount",
                "services/permit.application.json: $.operations.progress.response.errors.200: keys are backend status codes from 400 to 599",
                "services/permit.application.json: $.operations.progress.response.errors.404: must be a problem slug like account-not-found",
            ]),
        Case(
            name: "calendar mistakes",
            edits: [
                "cities/330100.json": {
                    $0["calendar"] = ["holidays": ["2026-10-01", "2026-02-30"], "workdays": ["2026-10-01"]]
                }
            ],
            expected: [
                "cities/330100.json: $.calendar.holidays[1]: 2026-02-30 is not a calendar date",
                "cities/330100.json: $.calendar: 2026-10-01 is both a holiday and a make-up workday",
            ]),
        Case(
            name: "progress key mistakes",
            edits: [
                "cities/330100.json": { city in
                    var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                    backends["approvals"]?["progressKeys"] = [
                        ["id": "a", "secret": "hunter2-inline-secret"],
                        ["id": "a", "secret": "file:../../mocks/keys/hmac-demo.secret", "alg": "HS256"],
                        ["id": "b"], "key",
                    ]
                    backends["halls"]?["progressKeys"] = [] as [Any]
                    backends["hrss"]?["progressKeys"] = [["id": "short", "secret": "env:CITYGATE_TEST_UNSET_VARIABLE"]]
                    city["backends"] = backends
                }
            ],
            expected: [
                "cities/330100.json: $.backends.approvals.progressKeys[0].secret: must be an env: or file: reference, not an inline secret",
                "cities/330100.json: $.backends.approvals.progressKeys[1].alg: unknown field (allowed: id, secret)",
                "cities/330100.json: $.backends.approvals.progressKeys[1].id: duplicate key id 'a'",
                "cities/330100.json: $.backends.approvals.progressKeys[2]: needs secret",
                "cities/330100.json: $.backends.approvals.progressKeys[3]: must be an object",
                "cities/330100.json: $.backends.halls.progressKeys: must list at least one key",
                "cities/330100.json: $.backends.hrss.progressKeys[0].secret:",
            ]),
        Case(
            name: "credential mistakes",
            edits: [
                "cities/330100.json": { city in
                    city["credentials"] = [
                        "bad name!": ["type": "value", "value": "env:X"],
                        "inline": ["type": "value", "value": "hunter2"],
                        "kind": ["type": "kerberos"],
                        "basic": [
                            "type": "basic", "username": "a:b", "password": "file:../../mocks/keys/hmac-demo.secret",
                        ],
                        "oauth": [
                            "type": "oauth2-client-credentials", "tokenURL": "ftp://x", "clientId": "c",
                            "extra": 1,
                        ],
                    ]
                },
                "services/traffic.violations.json": { service in
                    var operations = service["operations"] as? [String: [String: Any]] ?? [:]
                    var request = operations["lookup"]?["request"] as? [String: Any] ?? [:]
                    request["headers"] = [
                        "X-API-Key": "env:TRAFFIC_API_KEY", "Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
                        "X-Trace": "{secret.unknown-one}",
                    ]
                    request["path"] = "/violations/{secret.traffic-api-key}"
                    operations["lookup"]?["request"] = request
                    service["operations"] = operations
                },
            ],
            expected: [
                "cities/330100.json: $.credentials.bad name!: a credential name is letters, digits, - and _",
                "cities/330100.json: $.credentials.inline.value: must be an env: or file: reference, not an inline secret",
                "cities/330100.json: $.credentials.kind.type: 'kerberos' is not one of value, basic, oauth2-client-credentials",
                "cities/330100.json: $.credentials.basic.username: cannot contain ':' (RFC 7617)",
                "cities/330100.json: $.credentials.oauth.extra: unknown field",
                "cities/330100.json: $.credentials.oauth.tokenURL: must be an http:// or https:// URL with a host",
                "cities/330100.json: $.credentials.oauth.clientSecret: is required",
                "cities/330100.json: $.credentials.bad name!.value: environment variable X is not set",
                "services/traffic.violations.json: $.operations.lookup.request.headers.X-API-Key: would be sent as the literal text 'env:T…'",
                "services/traffic.violations.json: $.operations.lookup.request.headers.Authorization: is an inline credential",
                "services/traffic.violations.json: $.operations.lookup.request.path: {secret.…} may appear only in a header or query value",
                "cities/330100.json: $.services.permit.application: the service's requests use {secret.approvals-oauth}, which this city's credentials do not declare",
                "cities/330100.json: $.services.traffic.violations: the service's requests use {secret.unknown-one}, which this city's credentials do not declare",
                "cities/440300.json: $.services.traffic.violations: the service's requests use {secret.unknown-one}, which this city's credentials do not declare",
            ]),
        Case(
            name: "data encryption mistakes",
            edits: [
                "gateway.json": { gateway in
                    gateway["dataEncryption"] = [
                        "algorithm": "sm4-gcm",
                        "keys": [
                            ["id": "a", "key": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
                            ["id": "b", "key": "file:../mocks/keys/hmac-demo.secret"],
                            ["id": "b:c"], ["id": "d", "key": "env:CITYGATE_TEST_UNSET_VARIABLE"],
                        ],
                        "mode": "cbc",
                    ]
                }
            ],
            expected: [
                "gateway.json: $.dataEncryption.mode: unknown field",
                "gateway.json: $.dataEncryption.keys[0].key: must be an env: or file: reference, not an inline secret",
                "gateway.json: $.dataEncryption.keys[1].key: must resolve to 16 bytes in hex or base64 for sm4-gcm",
                "gateway.json: $.dataEncryption.keys[2].id: must be a non-empty id without ':'",
                "gateway.json: $.dataEncryption.keys[2].key: is required",
                "gateway.json: $.dataEncryption.keys[3].key: environment variable CITYGATE_TEST_UNSET_VARIABLE is not set",
            ]),
        Case(
            name: "unknown data encryption algorithm",
            edits: ["gateway.json": { $0["dataEncryption"] = ["algorithm": "des", "keys": [] as [Any]] }],
            expected: [
                "gateway.json: $.dataEncryption.algorithm: must be one of sm4-gcm, aes-256-gcm",
                "gateway.json: $.dataEncryption.keys: must list at least one key",
            ]),
        Case(
            name: "problems in several files at once",
            edits: [
                "cities/330100.json": { $0["code"] = "33010" },
                "services/traffic.violations.json": { $0["authLevel"] = "admin" },
                "partners/wechat-city.json": { $0["clockSkewSeconds"] = "300" },
            ],
            expected: [
                "partners/wechat-city.json: $.clockSkewSeconds: must be a whole number",
                "services/traffic.violations.json: $.authLevel: must be one of public, partner, citizen, real-name",
                "cities/330100.json: $.code: must be a 6-digit administrative code",
            ]),
    ]

    @Test(arguments: cases)
    func reportsExactlyTheseProblems(_ testCase: Case) throws {
        let problems = try Self.problems(testCase.edits)
        #expect(problems.count == testCase.expected.count, "\(problems)")
        for expected in testCase.expected {
            #expect(problems.contains { $0.hasPrefix(expected) }, "missing '\(expected)' in \(problems)")
        }
    }

    @Test
    func validateCommandListsEveryProblemAndExitsOne() async throws {
        let tree = try Self.brokenTree([
            "services/traffic.violations.json": { $0["enabled"] = false },
            "partners/hmac-demo.json": { $0["keys"] = [["id": "k", "secret": "inline"]] },
        ])
        let result = try await ExternalProcess.run(CommandLineTests.binary, ["validate", "--manifests", tree])
        #expect(result.status == 1)
        #expect(
            result.standardError.contains(
                "services/traffic.violations.json: $.disabledNotice: is required while the service is disabled"))
        #expect(
            result.standardError.contains(
                "partners/hmac-demo.json: $.keys[0].secret: must be an env: or file: reference"))
        #expect(result.standardError.contains("3 problem(s)"), "\(result.standardError)")
        let good = try await ExternalProcess.run(
            CommandLineTests.binary, ["validate", "--manifests", Self.sample.path])
        #expect(good.status == 0)
        #expect(good.standardOutput.hasPrefix("ok: 3 cities, 7 services (13 operations), 5 partners; sha256 "))
    }
}
