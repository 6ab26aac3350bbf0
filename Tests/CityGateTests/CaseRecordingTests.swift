import Foundation
import HTTPClient
import HTTPCore
import TestSupport
import Testing

@testable import CityGate

/// An operation that opens a case: the case is recorded with its working-day deadlines when the
/// answer goes back, the answer carries them, and a replayed retry records nothing new.
struct CaseRecordingTests {
    typealias Fixture = CallPipelineTests.Fixture

    /// The hall-queue operation made into a case-opening one, its `updatedAt` the case number.
    static let caseOpening: [String: @Sendable (inout [String: Any]) -> Void] = [
        "services/service-hall.queue.json": { service in
            var operations = service["operations"] as? [String: [String: Any]] ?? [:]
            operations["status"]?["idempotent"] = false
            operations["status"]?["retries"] = 0
            operations["status"]?["opensCase"] = ["number": "$.updatedAt"]
            service["operations"] = operations
            service["timeLimits"] = ["legalDays": 20, "promisedDays": 5]
        }
    ]

    static let answer: @Sendable (ClientRequest) async throws(BackendCallError) -> ClientResponse = { _ in
        ClientResponse(
            status: 200, headers: ["Content-Type": "application/json"],
            body: Array(#"{"waiting":1,"eta_minutes":2,"updated_at":"440300-2026-000042"}"#.utf8))
    }

    @Test
    func theCaseIsRecordedAndTheAnswerCarriesItsDeadlines() async throws {
        let fixture = try Fixture(edits: Self.caseOpening, answer: Self.answer)
        defer { fixture.client.shutdown() }
        let response = try await IdempotencyTests.call(fixture, key: "case-key-1")
        #expect(response.status.code == 200, "\(fixture.json(response))")
        let deadlines = try #require(fixture.json(response)["deadlines"] as? [String: String])
        let city = try #require(fixture.manifests.cities["440300"])
        let expected = city.calendar.deadlines(
            receivedAt: fixture.clocks.seconds.load(ordering: .relaxed), legalDays: 20, promisedDays: 5)
        #expect(deadlines["countsFrom"] == expected.countsFrom.description)
        #expect(deadlines["promisedBy"] == expected.promisedBy.description)
        #expect(deadlines["legalBy"] == expected.legalBy.description)
        #expect(
            fixture.json(response)["updatedAt"] as? String == "440300-2026-000042", "the answer is otherwise unchanged")
        let record = try #require(try fixture.cases.find(city: "440300", number: "440300-2026-000042"))
        #expect(record.service == "service-hall.queue")
        #expect(record.partner == "hmac-demo")
        #expect(record.deadlines == expected)
        #expect(record.department == "11330100MB0012345D")

        // A retry later is answered from the first call, deadlines included; nothing new is recorded.
        fixture.clocks.advance(seconds: 2 * 3600)
        let retry = try await IdempotencyTests.call(fixture, key: "case-key-1", age: 1)
        #expect(retry.headers["Idempotent-Replayed"] == "true")
        #expect(retry.body == response.body)
        #expect(try fixture.cases.find(city: "440300", number: "440300-2026-000042")?.receivedAt == record.receivedAt)
        #expect(fixture.backend.count == 1)
    }

    @Test
    func aRefusedApplicationOpensNoCase() async throws {
        let fixture = try Fixture(
            edits: Self.caseOpening,
            answer: { _ in ClientResponse(status: 400, headers: [:], body: Array("no".utf8)) })
        defer { fixture.client.shutdown() }
        let response = try await IdempotencyTests.call(fixture, key: nil)
        #expect(response.status.code == 502)
        #expect(fixture.json(response)["deadlines"] == nil)
    }

    @Test
    func opensCaseMustNameAnAnswerFieldOfANonIdempotentOperation() throws {
        let unknown = try ManifestSetTests.problems([
            "services/service-hall.queue.json": { service in
                var operations = service["operations"] as? [String: [String: Any]] ?? [:]
                operations["status"]?["idempotent"] = false
                operations["status"]?["retries"] = 0
                operations["status"]?["opensCase"] = ["number": "$.case_no"]
                service["operations"] = operations
            }
        ])
        #expect(
            unknown.contains {
                $0.hasPrefix(
                    "services/service-hall.queue.json: $.operations.status.opensCase.number: must be $.<field> naming one of the answer's response.fields"
                )
            }, "\(unknown)")
        let idempotent = try ManifestSetTests.problems([
            "services/service-hall.queue.json": { service in
                var operations = service["operations"] as? [String: [String: Any]] ?? [:]
                operations["status"]?["opensCase"] = ["number": "$.updatedAt"]
                service["operations"] = operations
            }
        ])
        #expect(
            idempotent.contains(
                "services/service-hall.queue.json: $.operations.status.opensCase: an operation that opens a case cannot be idempotent"
            ), "\(idempotent)")
    }
}
