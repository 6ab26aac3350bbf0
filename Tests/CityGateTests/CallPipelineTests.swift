import Foundation
import HTTPClient
import HTTPCore
import HTTPServer
import Store
import Synchronization
import TestSupport
import Testing

@testable import CityGate

/// The call pipeline in process, without the binary or a socket to a backend: the sample
/// manifests loaded for real, clocks and the backend transport injected, requests signed as the
/// partners sign them. (The end-to-end tests run the same paths through the real server.)
struct CallPipelineTests {
    /// What the injected backend saw, and what it answers.
    final class RecordingTransport: Sendable {
        let requests = Mutex<[ClientRequest]>([])
        let answer: @Sendable (ClientRequest) async throws(BackendCallError) -> ClientResponse

        init(answer: @escaping @Sendable (ClientRequest) async throws(BackendCallError) -> ClientResponse) {
            self.answer = answer
        }

        var transport: BackendCaller.Transport {
            { request, _, _, _, _ throws(BackendCallError) in
                self.requests.withLock { $0.append(request) }
                return try await self.answer(request)
            }
        }

        var count: Int { requests.withLock { $0.count } }
    }

    /// Settable clocks: Unix seconds and the limiter's monotonic nanoseconds.
    final class Clocks: Sendable {
        let seconds = Atomic<Int64>(1_764_000_000)
        let nanos = Atomic<Int64>(1_000_000_000_000)

        func advance(seconds delta: Int64) {
            seconds.add(delta, ordering: .relaxed)
            nanos.add(delta * 1_000_000_000, ordering: .relaxed)
        }
    }

    /// The pieces of one in-process gateway.
    struct Fixture {
        let pipeline: CallPipeline
        let backend: RecordingTransport
        let clocks: Clocks
        let manifests: ManifestSet
        let tokens: TokenService
        let audit: AuditLog
        let metrics: Metrics
        let client: HTTPClient
        let idempotency: IdempotencyStore
        let cases: CaseStore

        /// Builds a pipeline over the sample tree with `edits` applied.
        init(
            edits: [String: @Sendable (inout [String: Any]) -> Void] = [:],
            answer: @escaping @Sendable (ClientRequest) async throws(BackendCallError) -> ClientResponse = { _ in
                ClientResponse(
                    status: 200, headers: ["Content-Type": "application/json"],
                    body: Array(#"{"waiting":3,"eta_minutes":12,"updated_at":"2026-12-03T08:00:00+08:00"}"#.utf8))
            }
        ) throws {
            let tree = try ManifestSetTests.brokenTree(edits)
            manifests = try ManifestSet.load(directory: tree, environment: [:]).get()
            let data = FileManager.default.temporaryDirectory.appendingPathComponent("cg-pipeline-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let database = try Database(path: data.path + "/gateway.db")
            let replayStore = try ReplayStore(database: database)
            client = try HTTPClient()
            let active = ActiveConfiguration(
                ConfigurationSnapshot(manifests: manifests, replayStore: replayStore, client: client))
            tokens = TokenService(
                active: active, store: try TokenStore(database: database, now: 0),
                delegations: try DelegationStore(database: database), vault: try IdentityVault(database: database),
                replayStore: replayStore, material: try TokenKeyMaterial.load(directory: data.path))
            audit = try AuditLog(database: database)
            idempotency = try IdempotencyStore(database: database)
            cases = try CaseStore(database: database)
            metrics = Metrics()
            backend = RecordingTransport(answer: answer)
            let clocks = Clocks()
            self.clocks = clocks
            pipeline = CallPipeline(
                active: active, limiter: RateLimiter(), tokens: tokens, audit: audit, metrics: metrics,
                clock: { clocks.seconds.load(ordering: .relaxed) },
                monotonicNanos: { clocks.nanos.load(ordering: .relaxed) }, idempotency: idempotency, cases: cases,
                transport: backend.transport)
        }

        /// Signs and runs one call as `partner`.
        func call(
            _ city: String, _ service: String, _ operation: String, body: String, partner: String = "hmac-demo",
            headers: Headers = Headers(), signedAt: Int64? = nil
        ) async throws -> Response {
            let path = "/v1/cities/\(city)/services/\(service)/\(operation)"
            let configuration = try #require(manifests.partners[partner])
            var signed = try RequestSigner(partner: configuration).sign(
                path: path, body: Array(body.utf8), now: signedAt ?? clocks.seconds.load(ordering: .relaxed))
            for field in headers { signed.headers.add(name: field.name, value: field.value) }
            let request = Request(
                head: RequestHead(method: "POST", target: path, headers: signed.headers), body: signed.body)
            let context = RequestContext(
                requestId: "req-\(UUID().uuidString.prefix(8))",
                pathParameters: ["city": city, "service": service, "operation": operation],
                remoteAddress: "127.0.0.1:40000")
            return await pipeline.handle(request, context: context)
        }

        func json(_ response: Response) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
        }
    }

    @Test
    func theStageListIsTheDocumentedOrder() throws {
        let fixture = try Fixture()
        defer { fixture.client.shutdown() }
        #expect(
            fixture.pipeline.stages.map(\.name) == [
                "resolve", "partner", "bearer", "delegation", "rate-limits", "input", "identity", "bindings",
                "idempotency", "case", "backend",
            ])
    }

    @Test
    func aSignedCallReachesTheBackendWithTraceAndIsMapped() async throws {
        let fixture = try Fixture()
        defer { fixture.client.shutdown() }
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let response = try await fixture.call(
            "440300", "service-hall.queue", "status", body: #"{"hall":"futian-1"}"#, headers: ["traceparent": trace])
        #expect(response.status.code == 200, "\(fixture.json(response))")
        #expect(fixture.json(response)["estimatedMinutes"] as? Int == 12)
        #expect(response.headers["RateLimit-Policy"] != nil || response.headers["RateLimit"] != nil)
        let sent = try #require(fixture.backend.requests.withLock { $0.first })
        #expect(sent.method == "GET")
        #expect(sent.url.hasSuffix("/halls/futian-1/queue?city=440300"), "\(sent.url)")
        #expect(sent.headers["traceparent"]?.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-") == true)
        #expect(sent.headers["traceparent"] != trace, "a child span of the caller's")
        #expect(sent.headers["x-request-id"]?.hasPrefix("req-") == true)
        let exposition = fixture.metrics.render(gauges: [])
        #expect(
            exposition.contains(
                #"citygate_requests_total{city="440300",service="service-hall.queue",operation="status",partner="hmac-demo",status="200"} 1"#
            ))
    }

    /// Each refusal ends the call at its stage: the backend is never called.
    @Test
    func refusalsStopBeforeTheBackend() async throws {
        let fixture = try Fixture()
        defer { fixture.client.shutdown() }
        let cases: [(String, String, String, String, Int, String)] = [
            ("999999", "service-hall.queue", "status", #"{"hall":"a1"}"#, 404, "unknown-city"),
            ("440300", "no.such", "status", #"{"hall":"a1"}"#, 404, "unknown-service"),
            ("440300", "service-hall.queue", "nope", #"{"hall":"a1"}"#, 404, "unknown-operation"),
            ("440300", "service-hall.queue", "status", #"{"hall":"A B"}"#, 422, "invalid-input"),
            ("440300", "service-hall.queue", "status", #"{"hall":"a1","hall":"b2"}"#, 400, "invalid-json"),
        ]
        for (city, service, operation, body, status, slug) in cases {
            let response = try await fixture.call(city, service, operation, body: body)
            #expect(response.status.code == status, "\(slug): \(fixture.json(response))")
            #expect((fixture.json(response)["type"] as? String)?.hasSuffix(slug) == true, "\(fixture.json(response))")
        }
        #expect(fixture.backend.count == 0)
    }

    /// The injected clock decides the replay window: a request signed 301 s before the gateway's
    /// time is refused, one signed 299 s before is not.
    @Test
    func theInjectedClockDecidesTheSignatureWindow() async throws {
        let fixture = try Fixture()
        defer { fixture.client.shutdown() }
        let now = fixture.clocks.seconds.load(ordering: .relaxed)
        let stale = try await fixture.call(
            "440300", "service-hall.queue", "status", body: #"{"hall":"a1"}"#, signedAt: now - 301)
        #expect(stale.status.code == 401)
        #expect((fixture.json(stale)["type"] as? String)?.hasSuffix("timestamp-outside-window") == true)
        let fresh = try await fixture.call(
            "440300", "service-hall.queue", "status", body: #"{"hall":"a1"}"#, signedAt: now - 299)
        #expect(fresh.status.code == 200)
        #expect(fixture.backend.count == 1)
    }

    /// The injected monotonic clock drives the limiter: the limit is used up, then refills.
    @Test
    func theInjectedMonotonicClockRefillsTheLimit() async throws {
        let fixture = try Fixture(edits: [
            "cities/440300.json": { city in
                city["rateLimits"] = [["scope": "partner", "limit": 1, "period": "1m", "burst": 0]]
            }
        ])
        defer { fixture.client.shutdown() }
        let first = try await fixture.call("440300", "service-hall.queue", "status", body: #"{"hall":"a1"}"#)
        #expect(first.status.code == 200)
        let second = try await fixture.call("440300", "service-hall.queue", "status", body: #"{"hall":"a2"}"#)
        #expect(second.status.code == 429)
        #expect(second.headers["Retry-After"] != nil)
        fixture.clocks.advance(seconds: 61)
        let third = try await fixture.call("440300", "service-hall.queue", "status", body: #"{"hall":"a3"}"#)
        #expect(third.status.code == 200, "\(fixture.json(third))")
        #expect(fixture.backend.count == 2)
    }

    @Test
    func backendFailuresMapToProblemsNamingTheBackend() async throws {
        let fixture = try Fixture(answer: { _ throws(BackendCallError) in
            throw .transport(CurlError(kind: .connectRefused, code: 7, message: "Couldn't connect to server"))
        })
        defer { fixture.client.shutdown() }
        let response = try await fixture.call("440300", "service-hall.queue", "status", body: #"{"hall":"a1"}"#)
        #expect(response.status.code == 502 || response.status.code == 503, "\(fixture.json(response))")
        #expect(fixture.json(response)["backend"] as? String == "halls")
    }

    /// The audit observer sees a citizen's refused call as well as an answered one.
    @Test
    func citizenCallsAndTheirRefusalsAreAudited() async throws {
        let fixture = try Fixture(answer: { _ in
            ClientResponse(
                status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"items":[]}"#.utf8))
        })
        defer { fixture.client.shutdown() }
        let grant = TokenGrant(
            clientId: "webhooks-demo-app", partnerId: "webhooks-demo", subject: "sub-pseudonym-1", audience: "330100",
            scopes: ["traffic.read"], level: .citizen)
        let now = fixture.clocks.seconds.load(ordering: .relaxed)
        let token = try fixture.tokens.pinning(fixture.manifests) {
            try fixture.tokens.issueAccessToken(grant, family: nil, now: now)
        }
        let bearer: Headers = ["Authorization": "Bearer \(token.token)"]
        let refused = try await fixture.call(
            "330100", "traffic.violations", "lookup", body: #"{"plate":"bad"}"#, partner: "webhooks-demo",
            headers: bearer)
        #expect(refused.status.code == 422, "\(fixture.json(refused))")
        let answered = try await fixture.call(
            "330100", "traffic.violations", "lookup", body: #"{"plate":"A12345","engineTail":"123456"}"#,
            partner: "webhooks-demo", headers: bearer)
        #expect(answered.status.code == 200, "\(fixture.json(answered))")
        let entries = try fixture.audit.list()
        #expect(entries.map(\.status).sorted() == [200, 422])
        #expect(entries.first { $0.status == 422 }?.outcome == "invalid-input")
        #expect(entries.allSatisfy { $0.subject == "sub-pseudonym-1" && $0.service == "traffic.violations" })
        let sent = try #require(fixture.backend.requests.withLock { $0.first })
        #expect(sent.headers["X-Citizen-Subject"] == "sub-pseudonym-1")
    }

    /// A stage that needs what no earlier stage found is an internal error naming it, never a crash.
    @Test
    func aMisorderedStageListIsAnInternalErrorNotACrash() async throws {
        let fixture = try Fixture()
        defer { fixture.client.shutdown() }
        let misordered = CallPipeline(
            active: fixture.pipeline.active, stages: [InputStage(), ResolveStage()], observers: [])
        let request = Request(head: RequestHead(method: "POST", target: "/x"), body: Array("{}".utf8))
        let response = await misordered.handle(
            request,
            context: RequestContext(
                requestId: "r1",
                pathParameters: ["city": "440300", "service": "service-hall.queue", "operation": "status"]
            ))
        #expect(response.status.code == 500)
        #expect(fixture.json(response)["stage"] as? String == "input")
    }
}
