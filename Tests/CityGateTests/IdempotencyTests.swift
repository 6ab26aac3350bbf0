import Foundation
import HTTPClient
import HTTPCore
import Synchronization
import TestSupport
import Testing

@testable import CityGate

/// `Idempotency-Key` on non-idempotent operations, through the whole pipeline in process
/// (CallPipelineTests' fixture): the first outcome is kept and replayed, another body is 422, a
/// retry while the first runs is 409, and only answers the backend gave are kept.
struct IdempotencyTests {
    typealias Fixture = CallPipelineTests.Fixture

    /// The sample hall-queue operation made non-idempotent (like an application).
    static let applicationLike: [String: @Sendable (inout [String: Any]) -> Void] = [
        "services/service-hall.queue.json": { service in
            var operations = service["operations"] as? [String: [String: Any]] ?? [:]
            operations["status"]?["idempotent"] = false
            operations["status"]?["retries"] = 0
            service["operations"] = operations
        }
    ]

    /// Calls with `key`, signed `age` seconds ago (each retry is signed afresh, as partners do).
    static func call(
        _ fixture: Fixture, key: String?, body: String = #"{"hall":"a1"}"#, age: Int64 = 0,
        partner: String = "hmac-demo"
    ) async throws -> Response {
        var headers = Headers()
        if let key { headers.add(name: "Idempotency-Key", value: key) }
        return try await fixture.call(
            "440300", "service-hall.queue", "status", body: body, partner: partner, headers: headers,
            signedAt: fixture.clocks.seconds.load(ordering: .relaxed) - age)
    }

    @Test
    func aRetryIsAnsweredFromTheFirstCallWithoutReachingTheBackend() async throws {
        let fixture = try Fixture(edits: Self.applicationLike)
        defer { fixture.client.shutdown() }
        let first = try await Self.call(fixture, key: #""apply-0001""#)
        #expect(first.status.code == 200, "\(fixture.json(first))")
        let retry = try await Self.call(fixture, key: #""apply-0001""#, age: 1)
        #expect(retry.status.code == 200)
        #expect(retry.body == first.body)
        #expect(retry.headers["Idempotent-Replayed"] == "true")
        #expect(first.headers["Idempotent-Replayed"] == nil)
        #expect(fixture.backend.count == 1, "the backend saw one request")
        let sent = try #require(fixture.backend.requests.withLock { $0.first })
        #expect(sent.headers["Idempotency-Key"] == "hmac-demo:apply-0001", "the backend can de-duplicate too")
    }

    @Test
    func theSameKeyWithAnotherBodyIsRefused() async throws {
        let fixture = try Fixture(edits: Self.applicationLike)
        defer { fixture.client.shutdown() }
        _ = try await Self.call(fixture, key: "k-1")
        let other = try await Self.call(fixture, key: "k-1", body: #"{"hall":"b2"}"#, age: 1)
        #expect(other.status.code == 422)
        #expect((fixture.json(other)["type"] as? String)?.hasSuffix("idempotency-key-reused") == true)
        #expect(fixture.backend.count == 1)
    }

    /// Retries that arrive while the first call waits on the backend get 409; once it is
    /// answered, they get its answer.
    @Test
    func concurrentRetriesGetAConflictUntilTheFirstIsAnswered() async throws {
        let gate = Gate()
        let fixture = try Fixture(
            edits: Self.applicationLike,
            answer: { _ in
                await gate.wait()
                return ClientResponse(
                    status: 200, headers: ["Content-Type": "application/json"],
                    body: Array(#"{"waiting":1,"eta_minutes":2,"updated_at":"t"}"#.utf8))
            })
        defer { fixture.client.shutdown() }
        let first = Task { try await Self.call(fixture, key: "case-7") }
        try await eventuallyTrue { fixture.backend.count == 1 }
        async let second = Self.call(fixture, key: "case-7", age: 1)
        async let third = Self.call(fixture, key: "case-7", age: 2)
        let (during1, during2) = try await (second, third)
        for during in [during1, during2] {
            #expect(during.status.code == 409, "\(fixture.json(during))")
            #expect(during.headers["Retry-After"] != nil)
        }
        await gate.open()
        #expect(try await first.value.status.code == 200)
        let after = try await Self.call(fixture, key: "case-7", age: 3)
        #expect(after.status.code == 200)
        #expect(after.headers["Idempotent-Replayed"] == "true")
        #expect(fixture.backend.count == 1)
    }

    /// A timeout leaves the outcome unknown: nothing is kept, and the retry reaches the backend
    /// (with the same key, so a backend that de-duplicates can).
    @Test
    func anUnknownOutcomeIsNotKept() async throws {
        let failing = Atomic<Bool>(true)
        let fixture = try Fixture(
            edits: Self.applicationLike,
            answer: { _ throws(BackendCallError) in
                if failing.load(ordering: .relaxed) {
                    throw .transport(CurlError(kind: .timeout, code: 28, message: "Operation timed out"))
                }
                return ClientResponse(
                    status: 200, headers: ["Content-Type": "application/json"],
                    body: Array(#"{"waiting":1,"eta_minutes":2,"updated_at":"t"}"#.utf8))
            })
        defer { fixture.client.shutdown() }
        let timedOut = try await Self.call(fixture, key: "k-timeout")
        #expect(timedOut.status.code == 504)
        failing.store(false, ordering: .relaxed)
        let retry = try await Self.call(fixture, key: "k-timeout", age: 1)
        #expect(retry.status.code == 200)
        #expect(retry.headers["Idempotent-Replayed"] == nil)
        #expect(fixture.backend.count == 2)
    }

    /// A problem the backend answered with (mapped) is an outcome: it is kept.
    @Test
    func aBackendRefusalIsKept() async throws {
        let fixture = try Fixture(
            edits: Self.applicationLike,
            answer: { _ in ClientResponse(status: 400, headers: [:], body: Array("bad".utf8)) })
        defer { fixture.client.shutdown() }
        let first = try await Self.call(fixture, key: "k-400")
        #expect(first.status.code == 502)
        let retry = try await Self.call(fixture, key: "k-400", age: 1)
        #expect(retry.status.code == 502)
        #expect(retry.headers["Idempotent-Replayed"] == "true")
        #expect(fixture.backend.count == 1)
    }

    @Test
    func keysAreScopedByPartnerAndExpireAfterADay() async throws {
        let fixture = try Fixture(edits: Self.applicationLike)
        defer { fixture.client.shutdown() }
        _ = try await Self.call(fixture, key: "shared")
        let otherPartner = try await Self.call(fixture, key: "shared", partner: "webhooks-demo")
        #expect(otherPartner.status.code == 200)
        #expect(otherPartner.headers["Idempotent-Replayed"] == nil, "another partner's key is another key")
        #expect(fixture.backend.count == 2)
        fixture.clocks.advance(seconds: IdempotencyStore.retentionSeconds + 1)
        let nextDay = try await Self.call(fixture, key: "shared")
        #expect(nextDay.headers["Idempotent-Replayed"] == nil)
        #expect(fixture.backend.count == 3)
    }

    @Test
    func idempotentOperationsIgnoreTheKey() async throws {
        let fixture = try Fixture()
        defer { fixture.client.shutdown() }
        _ = try await Self.call(fixture, key: "k")
        let again = try await Self.call(fixture, key: "k", age: 1)
        #expect(again.headers["Idempotent-Replayed"] == nil)
        #expect(fixture.backend.count == 2)
    }

    @Test(arguments: [
        (#""abc""#, "abc"), ("abc-123_x.y:z", "abc-123_x.y:z"), (#""a \"quoted\" key""#, #"a "quoted" key"#),
        (#""back\\slash""#, #"back\slash"#), (#""with space""#, "with space"),
    ])
    func validKeys(header: String, key: String) {
        #expect(IdempotencyStage.parse(header) == key)
    }

    @Test(arguments: [
        "", #""""#, "two words", #""unterminated"#, #""bad \x escape""#, #""inner " quote""#, "tab\there",
        String(repeating: "k", count: 256), "\u{7F}", "é", #""é""#,
    ])
    func malformedKeys(header: String) {
        #expect(IdempotencyStage.parse(header) == nil)
    }

    @Test
    func aMalformedKeyIsRefusedBeforeTheBackend() async throws {
        let fixture = try Fixture(edits: Self.applicationLike)
        defer { fixture.client.shutdown() }
        let refused = try await Self.call(fixture, key: "two words")
        #expect(refused.status.code == 400)
        #expect((fixture.json(refused)["type"] as? String)?.hasSuffix("invalid-idempotency-key") == true)
        #expect(fixture.backend.count == 0)
    }
}

/// Holds callers until opened.
actor Gate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}

/// Polls `condition` for up to five seconds.
func eventuallyTrue(_ condition: @Sendable () -> Bool) async throws {
    for _ in 0..<500 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition never became true")
}

/// Through the real gateway and the mock approvals backend: a citizen's permit application sent
/// twice with one `Idempotency-Key` (each attempt signed afresh) creates one case.
@Suite(.serialized)
struct IdempotencyEndToEndTests {
    @Test
    func aRetriedApplicationCreatesOneCase() throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let token = try OAuthEndToEndTests.citizenToken(environment)
        let input =
            #"{"applicant":{"name":"张三","idNumber":"33010619900101123X","phone":"13800138000"},"location":"西湖区文三路 1 号","from":"2026-12-10","to":"2026-12-20"}"#
        func apply(key: String, body: String = input) throws -> RawClient.Response {
            var signed = try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
                path: "/v1/cities/330100/services/permit.application/apply", body: Array(body.utf8))
            signed.headers.add(name: "Authorization", value: "Bearer \(token)")
            signed.headers.add(name: "Idempotency-Key", value: key)
            return try environment.send(signed)
        }
        let first = try apply(key: #""permit-retry-1""#)
        #expect(first.statusCode == 200, "\(first.text)")
        let retry = try apply(key: #""permit-retry-1""#)
        #expect(retry.statusCode == 200, "\(retry.text)")
        #expect(retry.header("Idempotent-Replayed") == "true")
        let caseNumber = try OAuthEndToEndTests.json(first)["caseNumber"] as? String
        #expect(caseNumber != nil)
        #expect(try OAuthEndToEndTests.json(retry)["caseNumber"] as? String == caseNumber)
        // The case opened carries its working-day deadlines, and the replay the same ones.
        let deadlines = try OAuthEndToEndTests.json(first)["deadlines"] as? [String: String]
        #expect(deadlines?["legalBy"] != nil, "\(first.text)")
        #expect(try OAuthEndToEndTests.json(retry)["deadlines"] as? [String: String] == deadlines)
        let changed = try apply(key: #""permit-retry-1""#, body: input.replacingOccurrences(of: "12-20", with: "12-21"))
        #expect(changed.statusCode == 422, "\(changed.text)")
        let another = try apply(key: #""permit-retry-2""#)
        #expect(another.statusCode == 200)
        #expect(
            try OAuthEndToEndTests.json(another)["caseNumber"] as? String != caseNumber,
            "a new key is a new application")
        let applications = try BackendCallerTests.requests(environment, backend: "approvals").filter {
            $0["path"] == "/api/permits" && $0["method"] == "POST"
        }
        #expect(applications.count == 2, "two keys, two applications: \(applications.count)")
        #expect(applications.first?["Idempotency-Key"] == "webhooks-demo:permit-retry-1")
    }

    /// Eight threads of a Python partner (the standardwebhooks library signing each attempt)
    /// send one application at once with one key: one case, and every answer is that case or a
    /// "still in progress" 409.
    @Test
    func concurrentRetriesFromAnIndependentClientCreateOneCase() async throws {
        let environment = try CallEndToEndTests.Environment()
        defer { environment.stop() }
        let token = try OAuthEndToEndTests.citizenToken(environment)
        let secret = try String(
            contentsOfFile: ExternalProcess.packageRoot.appendingPathComponent("mocks/keys/webhooks-demo.secret").path,
            encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = try await Interop.run([
            "op": "standardwebhooks-concurrent-calls", "secret": secret, "port": Int(environment.gateway.publicPort),
            "path": "/v1/cities/330100/services/permit.application/apply", "partner": "webhooks-demo",
            "token": token, "key": "\"concurrent-1\"", "count": 8,
            "body":
                #"{"applicant":{"name":"张三","idNumber":"33010619900101123X","phone":"13800138000"},"location":"西湖区文三路 1 号","from":"2026-12-10","to":"2026-12-20"}"#,
        ])
        let results = try #require(answer["results"] as? [[String: Any]])
        #expect(results.count == 8)
        let answered = results.filter { $0["status"] as? Int == 200 }
        let conflicts = results.filter { $0["status"] as? Int == 409 }
        #expect(answered.count + conflicts.count == 8, "\(results)")
        #expect(answered.filter { $0["replayed"] is NSNull || $0["replayed"] == nil }.count == 1, "one original answer")
        let cases = Set(
            answered.compactMap { result -> String? in
                guard let body = result["body"] as? String,
                    let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                else { return nil }
                return object["caseNumber"] as? String
            })
        #expect(cases.count == 1, "\(cases)")
        let applications = try BackendCallerTests.requests(environment, backend: "approvals").filter {
            $0["path"] == "/api/permits" && $0["method"] == "POST"
        }
        #expect(applications.count == 1)
    }
}
