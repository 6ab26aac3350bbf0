import Foundation
import HTTPCore
import TestSupport
import Testing

@testable import CityGate

/// Bindings (`"bind": {"applicant.idNumber": "subject.raw"}`): identity-shaped input must be the
/// token's own citizen. Unit tables for matching and loading; then the gateway binary with two
/// citizens and an agent station, the mock backends' request logs showing what was never sent.
@Suite(.serialized)
struct SubjectBindingTests {
    typealias OAuth = OAuthEndToEndTests
    typealias Environment = CallEndToEndTests.Environment

    static let owner = "33010619900101123X"
    static let other = "11010119900307803X"

    // MARK: matching

    @Test(
        arguments: [
            ("33010619900101123X", "33010619900101123X", InputFormat.residentId, true),
            ("33010619900101123x", "33010619900101123X", .residentId, true),  // GB 11643: x is X
            ("33010619900101123X", "33010619900101123x", .residentId, true),
            ("110101199003078033", "33010619900101123X", .residentId, false),
            ("33010619900101123", "33010619900101123X", .residentId, false),  // a prefix is not the id
            ("33010619900101123X ", "33010619900101123X", .residentId, false),
            ("", "33010619900101123X", .residentId, false),
            ("c_abc", "c_abc", nil, true),
            ("c_ABC", "c_abc", nil, false),  // pseudonyms compare exactly
            ("13800138000", "13800138000", .phoneCN, true),
        ] as [(String, String, InputFormat?, Bool)])
    func matchesAfterTheFormatsNormalisation(claimed: String, identity: String, format: InputFormat?, same: Bool) {
        let binding = SubjectBinding(field: "idCard", source: .raw, format: format)
        #expect(binding.matches(claimed: claimed, identity: identity) == same)
    }

    @Test
    func readsNestedScalarsAndTreatsAbsentOrCompositeValuesAsUnclaimed() {
        let binding = SubjectBinding(field: "applicant.idNumber", source: .raw, format: .residentId)
        let input: [String: JSONValue] = ["applicant": .object(["idNumber": .string(Self.owner)])]
        #expect(binding.value(in: input) == Self.owner)
        #expect(binding.value(in: [:]) == nil)
        #expect(binding.value(in: ["applicant": .string("x")]) == nil)
        #expect(binding.value(in: ["applicant": .object(["idNumber": .array([.string(Self.owner)])])]) == nil)
        #expect(binding.value(in: ["applicant": .object(["idNumber": .number("42")])]) == "42")
    }

    // MARK: validate

    /// Edits the permit service's `apply` operation.
    static func editApply(_ change: @escaping @Sendable (inout [String: Any]) -> Void) -> [String:
        @Sendable (
            inout [String: Any]
        ) -> Void]
    {
        [
            "services/permit.application.json": { service in
                var operations = service["operations"] as? [String: [String: Any]] ?? [:]
                var apply = operations["apply"] ?? [:]
                change(&apply)
                operations["apply"] = apply
                service["operations"] = operations
            }
        ]
    }

    static let applyPath = "services/permit.application.json: $.operations.apply"

    /// (what, edit, the problem expected — nil when the shape is accepted)
    static let shapes: [(String, @Sendable (inout [String: Any]) -> Void, String?)] = [
        (
            "resident id unbound", { $0["bind"] = nil },
            "\(applyPath).input: field applicant.idNumber is a resident-id but is not bound to the token's citizen; bind it (\"bind\": {\"applicant.idNumber\": \"subject.raw\"}) or state why not in bindingExempt"
        ),
        (
            "resident id exempted",
            {
                $0["bind"] = nil; $0["bindingExempt"] = "the backend checks the applicant itself"
            },
            nil
        ),
        (
            "resident id exempted per field",
            {
                $0["bind"] = nil
                $0["bindingExempt"] = [
                    "applicant.idNumber": "a guardian applies for a ward", "applicant.phone": "contact number only",
                ]
            }, nil
        ),
        (
            "phone unbound", { $0["bindingExempt"] = nil },
            "\(applyPath).input: field applicant.phone is a phone-cn but is not bound to the token's citizen; bind it (\"bind\": {\"applicant.phone\": \"subject.raw\"}) or state why not in bindingExempt"
        ),
        (
            "exemption without a reason", { $0["bindingExempt"] = ["applicant.phone": "ok"] },
            "\(applyPath).bindingExempt.applicant.phone: must state the reason (at least 8 characters)"
        ),
        (
            "exempt and bound at once",
            {
                $0["bindingExempt"] = ["applicant.phone": "contact number only", "applicant.idNumber": "both ways now"]
            },
            "\(applyPath).bindingExempt.applicant.idNumber: is bound as well; drop one of the two"
        ),
        (
            "bound to the agent", { $0["bind"] = ["applicant.idNumber": "agent.id"] },
            "\(applyPath).bind.applicant.idNumber: binds to the agent; bindings name the citizen acted for (subject.raw or subject.id)"
        ),
        (
            "bound field not in the schema", { $0["bind"] = ["applicant.idCard": "subject.raw"] },
            "\(applyPath).bind.applicant.idCard: names no field the input schema declares (nested fields as a.b)"
        ),
        (
            "bound to a non-string", { $0["bind"] = ["applicant": "subject.raw"] },
            "\(applyPath).bind.applicant: binds a field that is not a string"
        ),
        (
            "id inside an array",
            { apply in
                var input = apply["input"] as? [String: Any] ?? [:]
                var properties = input["properties"] as? [String: Any] ?? [:]
                properties["family"] = [
                    "type": "array", "items": ["type": "string", "format": "resident-id"],
                ]
                input["properties"] = properties
                apply["input"] = input
            },
            "\(applyPath).input: field family[] is a resident-id but is not bound to the token's citizen; it is inside an array, so it cannot be bound: state why it is safe in bindingExempt"
        ),
        (
            "no identity in the backend request",
            { apply in
                apply["bind"] = nil
                apply["bindingExempt"] = nil
                apply["input"] = [
                    "type": "object", "properties": ["location": ["type": "string"]],
                ]
                apply["request"] = ["method": "POST", "path": "/api/permits", "body": ["location": "{input.location}"]]
            },
            "\(applyPath).request: acts for a citizen but sends the backend no identity value ({subject.id}, {subject.raw} or a bound input field); add one or state why not in bindingExempt"
        ),
        (
            "no identity, exempted",
            { apply in
                apply["bind"] = nil
                apply["bindingExempt"] = "the backend reads X-Citizen-Subject, which the gateway always sends"
                apply["input"] = ["type": "object", "properties": ["location": ["type": "string"]]]
                apply["request"] = ["method": "POST", "path": "/api/permits", "body": ["location": "{input.location}"]]
            }, nil
        ),
    ]

    @Test(arguments: shapes.indices)
    func validateRefusesTheDangerousShapesUnlessExempted(index: Int) throws {
        let (what, edit, expected) = Self.shapes[index]
        let problems = try ManifestSetTests.problems(Self.editApply(edit))
        if let expected {
            #expect(problems.contains(expected), "\(what): \(problems)")
        } else {
            #expect(problems.isEmpty, "\(what): \(problems)")
        }
    }

    @Test
    func bindingToTheRawIdNeedsARawIdentityService() throws {
        let problems = try ManifestSetTests.problems([
            "services/permit.application.json": { $0["identity"] = nil }
        ])
        #expect(
            problems.contains(
                "\(Self.applyPath).bind.applicant.idNumber: binds to subject.raw, which needs \"identity\": \"raw\" on the service"
            ), "\(problems)")
    }

    @Test
    func bindingsNeedACitizenService() throws {
        let problems = try ManifestSetTests.problems([
            "services/service-hall.queue.json": { service in
                var operations = service["operations"] as? [String: [String: Any]] ?? [:]
                operations["status"]?["bind"] = ["hall": "subject.id"]
                service["operations"] = operations
            }
        ])
        #expect(
            problems.contains(
                "services/service-hall.queue.json: $.operations.status.bind: bindings need a citizen or real-name service (a token with a citizen)"
            ), "\(problems)")
    }

    // MARK: end to end

    static func token(_ environment: Environment, citizen: String) throws -> String {
        try OAuth.citizenToken(environment, assertion: try OAuth.assertion(citizen))
    }

    static func requests(_ environment: Environment, backend: String) throws -> [[String: String]] {
        let client = try RawClient(port: UInt16(try #require(environment.mockPorts[backend])))
        try client.send("GET /_mock/requests HTTP/1.1\r\nHost: mock\r\n\r\n")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(client.readResponse().body)) as? [[String: String]])
    }

    static func apply(idNumber: String) -> String {
        #"{"applicant":{"name":"张三","idNumber":"\#(idNumber)","phone":"13800138000"},"location":"西湖区文三路 1 号","from":"2026-12-10","to":"2026-12-20"}"#
    }

    static func metrics(_ environment: Environment) throws -> String {
        let client = try RawClient(port: environment.gateway.opsPort)
        try client.send("GET /metrics HTTP/1.1\r\nHost: ops\r\n\r\n")
        return try client.readResponse().text
    }

    /// Every sample citizen operation: its owner is answered; another citizen sending the
    /// owner's id is refused before the backend, and where the input carries no id the backend
    /// is told the caller's own pseudonym, so it can only answer about them.
    @Test
    func anotherCitizenCannotReachTheOwnersRecords() throws {
        let environment = try Environment()
        defer { environment.stop() }
        let ownerToken = try Self.token(environment, citizen: Self.owner)
        let otherToken = try Self.token(environment, citizen: Self.other)
        // Ningbo's services take tokens for Ningbo.
        let ningbo = (
            owner: try OAuth.citizenToken(environment, assertion: try OAuth.assertion(Self.owner, city: "330200")),
            other: try OAuth.citizenToken(environment, assertion: try OAuth.assertion(Self.other, city: "330200"))
        )
        let set = try ManifestSet.load(directory: environment.manifests).get()
        // (service, operation, the owner's input)
        let inputs: [String: String] = [
            "social-security.account/balance": #"{"year":2026}"#,
            "traffic.violations/lookup": #"{"plate":"A12345","engineTail":"123456"}"#,
            "household.appointment/book": #"{"station":"西湖派出所","date":"2026-12-08","phone":"13800138000"}"#,
            "permit.application/apply": Self.apply(idNumber: Self.owner),
            "housing-fund.account/query": #"{"accountNo":"NB2015080100123","idNumber":"\#(Self.owner)"}"#,
            "birth.registration/apply":
                #"{"mother":{"name":"张三","idNumber":"\#(Self.owner)"},"baby":{"name":"张小宝","gender":"male","birthDate":"2026-11-28"},"hospital":"宁波市妇女儿童医院"}"#,
        ]
        // Operations keyed on a case number (no identity in the input) are checked below.
        let byCase: Set<String> = ["progress", "certificate", "attach"]
        var citizenOperations: [(ServiceManifest, ServiceManifest.Operation)] = []
        for service in set.services.values where service.authLevel >= .citizen {
            for operation in service.operations.values where !operation.eventOnly && !byCase.contains(operation.name) {
                citizenOperations.append((service, operation))
            }
        }
        #expect(citizenOperations.count == inputs.count, "a new sample citizen operation needs a row here")
        for (service, operation) in citizenOperations {
            let key = "\(service.id)/\(operation.name)"
            let input = try #require(inputs[key], "no input for \(key)")
            let backend = service.backend
            let city = service.backend == "gjj" || service.backend == "births" ? "330200" : "330100"
            let (ownerToken, otherToken) = city == "330200" ? ningbo : (ownerToken, otherToken)
            let owned = try OAuth.call(
                environment, city: city, service.id, operation.name, input: input, token: ownerToken)
            #expect(owned.statusCode == 200, "\(key) for its owner: \(owned.text)")
            let before = try Self.requests(environment, backend: backend).count
            let foreign = try OAuth.call(
                environment, city: city, service.id, operation.name, input: input, token: otherToken)
            let after = try Self.requests(environment, backend: backend)
            if operation.bindings.isEmpty {
                // No identity in the input: the backend is asked about the caller, never the owner.
                #expect(foreign.statusCode == 200, "\(key): \(foreign.text)")
                let subjects = after.suffix(2).map { $0["X-Citizen-Subject"] ?? "" }
                #expect(subjects.count == 2 && subjects[0] != subjects[1], "\(key): \(subjects)")
            } else {
                #expect(foreign.statusCode == 403, "\(key): \(foreign.text)")
                let problem = try OAuth.json(foreign)
                #expect(problem["type"] as? String == Problem.typePrefix + "subject-mismatch")
                #expect(problem["field"] as? String == operation.bindings.first?.field)
                #expect(!foreign.text.contains(Self.owner) && !foreign.text.contains(Self.other))
                #expect(after.count == before, "\(key): the backend was called for another citizen")
            }
        }
        // A case is followed only by its applicant (the backend keys on the subject it is sent).
        let applied = try OAuth.call(
            environment, "permit.application", "apply", input: Self.apply(idNumber: Self.owner), token: ownerToken)
        let caseNumber = try #require(try OAuth.json(applied)["caseNumber"] as? String)
        let progress = #"{"caseNumber":"\#(caseNumber)"}"#
        #expect(
            try OAuth.call(environment, "permit.application", "progress", input: progress, token: ownerToken)
                .statusCode == 200)
        let peek = try OAuth.call(environment, "permit.application", "progress", input: progress, token: otherToken)
        #expect(peek.statusCode == 404, "\(peek.text)")
        #expect(try OAuth.json(peek)["type"] as? String == Problem.typePrefix + "case-not-found")
        // So is a birth certificate, and a document added to the case.
        let birth = try OAuth.call(
            environment, city: "330200", "birth.registration", "apply",
            input: try #require(inputs["birth.registration/apply"]), token: ningbo.owner)
        let birthCase = try #require(try OAuth.json(birth)["caseNumber"] as? String, "\(birth.text)")
        let certificate = #"{"caseNumber":"\#(birthCase)"}"#
        let own = try OAuth.call(
            environment, city: "330200", "birth.registration", "certificate", input: certificate, token: ningbo.owner)
        #expect(own.statusCode == 200 && own.header("Content-Type") == "application/pdf", "\(own.text)")
        let theirs = try OAuth.call(
            environment, city: "330200", "birth.registration", "certificate", input: certificate, token: ningbo.other)
        #expect(theirs.statusCode == 404, "another citizen's certificate: \(theirs.text)")
        let attach =
            #"{"caseNumber":"\#(birthCase)","filename":"x.pdf","document":"\#(Data(own.body).base64EncodedString())"}"#
        let added = try OAuth.call(
            environment, city: "330200", "birth.registration", "attach", input: attach, token: ningbo.other)
        #expect(added.statusCode == 404, "another citizen's case takes no documents: \(added.text)")

        // Counted, audited, and no id in the log.
        #expect(
            try Self.metrics(environment).contains(
                "citygate_subject_mismatches_total{city=\"330100\",service=\"permit.application\",operation=\"apply\",partner=\"webhooks-demo\",field=\"applicant.idNumber\"} 1"
            ))
        let audit = try OAuth.json(try CitizenCallTests.admin(environment, "GET", "/admin/audit"))
        let entries = try #require(audit["entries"] as? [[String: Any]])
        let refused = entries.filter { $0["outcome"] as? String == "subject-mismatch" }
        // One per bound operation: the permit, the provident fund query, the birth application.
        #expect(refused.count == 3 && refused.allSatisfy { $0["status"] as? Int == 403 }, "\(entries)")
        #expect(
            Set(refused.compactMap { $0["service"] as? String })
                == ["permit.application", "housing-fund.account", "birth.registration"])
        let log = try String(contentsOf: environment.gateway.outputFile, encoding: .utf8)
        #expect(!log.contains("33010619900101123") && !log.contains(Self.other))
    }

    /// An agent acting for A reaches A's records, not B's.
    @Test
    func anAgentActsOnlyForTheCitizenItsDelegationNames() throws {
        let environment = try Environment()
        defer { environment.stop() }
        let created = try CitizenCallTests.admin(
            environment, "POST", "/admin/delegations",
            body:
                #"{"partner":"webhooks-demo","agent":"agent-station-7","citizen":"\#(Self.owner)","services":["permit.application"],"notAfter":\#(OAuth.now + 3600)}"#
        )
        #expect(created.statusCode == 201, "\(created.text)")
        let granted = try OAuth.post(
            environment,
            [
                ("grant_type", OAuth.exchange), ("subject_token", try OAuth.assertion(Self.owner)),
                ("subject_token_type", OAuth.jwtType), ("actor_token", try OAuth.assertion("agent-station-7")),
                ("actor_token_type", OAuth.jwtType),
            ])
        let token = try #require(try OAuth.json(granted)["access_token"] as? String, "\(granted.text)")
        let before = try Self.requests(environment, backend: "approvals").count
        let forA = try OAuth.call(
            environment, "permit.application", "apply", input: Self.apply(idNumber: Self.owner), token: token)
        #expect(forA.statusCode == 200, "\(forA.text)")
        let forB = try OAuth.call(
            environment, "permit.application", "apply", input: Self.apply(idNumber: Self.other), token: token)
        #expect(forB.statusCode == 403, "\(forB.text)")
        #expect(try OAuth.json(forB)["type"] as? String == Problem.typePrefix + "subject-mismatch")
        #expect(try Self.requests(environment, backend: "approvals").count == before + 1, "only A's application sent")
    }

    /// A real-name assertion names a person the platform verified: a malformed resident id is
    /// refused before anything is issued.
    @Test(
        arguments: [
            ("330106199001011234", "invalid_grant"),  // wrong check digit
            ("33010619901301123X", "invalid_grant"),  // month 13
            ("03010619900101123X", "invalid_grant"),  // region starts with 0
            ("wx-openid-123", "invalid_grant"),
            ("33010619900101123x", nil),  // lower-case x is the same check character
            (owner, nil),
        ] as [(String, String?)])
    func realNameAssertionsMustCarryAValidResidentId(subject: String, error: String?) throws {
        let environment = try Environment()
        defer { environment.stop() }
        let response = try OAuth.post(
            environment,
            [
                ("grant_type", OAuth.exchange), ("subject_token", try OAuth.assertion(subject)),
                ("subject_token_type", OAuth.jwtType),
            ])
        if let error {
            #expect(response.statusCode == 400, "\(response.text)")
            #expect(try OAuth.json(response)["error"] as? String == error)
            #expect(!response.text.contains(subject))
        } else {
            #expect(response.statusCode == 200, "\(response.text)")
        }
        // A citizen-level assertion is not a real-name claim: its sub is the platform's own id.
        let citizenLevel = try OAuth.post(
            environment,
            [
                ("grant_type", OAuth.exchange), ("subject_token", try OAuth.assertion("wx-openid-123", acr: "citizen")),
                ("subject_token_type", OAuth.jwtType),
            ])
        #expect(citizenLevel.statusCode == 200, "\(citizenLevel.text)")
    }

    @Test
    func aClientWhoseRealNameSubjectsAreOpaqueIsNotChecked() throws {
        let environment = try Environment(extraEdits: [
            "partners/webhooks-demo.json": { partner in
                var clients = partner["clients"] as? [[String: Any]] ?? []
                clients[0]["realNameSubject"] = "opaque"
                partner["clients"] = clients
            }
        ])
        defer { environment.stop() }
        let response = try OAuth.post(
            environment,
            [
                ("grant_type", OAuth.exchange), ("subject_token", try OAuth.assertion("alipay-2088-0001")),
                ("subject_token_type", OAuth.jwtType),
            ])
        #expect(response.statusCode == 200, "\(response.text)")
        let problems = try ManifestSetTests.problems([
            "partners/webhooks-demo.json": { partner in
                var clients = partner["clients"] as? [[String: Any]] ?? []
                clients[0]["realNameSubject"] = "passport"
                partner["clients"] = clients
            }
        ])
        #expect(
            problems.contains(
                "partners/webhooks-demo.json: $.clients[0].realNameSubject: must be resident-id or opaque"))
    }
}
