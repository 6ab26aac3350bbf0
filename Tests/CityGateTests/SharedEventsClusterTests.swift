import CityGate
import Cryptography
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The shared inbox's promise with several instances (#18): 5,000 events sent round-robin to
/// three instances on one PostgreSQL (and Redis), while one instance is killed with SIGKILL and
/// never restarted and another is restarted. Every acknowledged event is delivered by the
/// survivors — the killed instance's leased deliveries taken over when its leases run out —
/// each under exactly one Idempotency-Key.
@Suite(.serialized)
struct SharedEventsClusterTests {
    /// The instances the senders may use; a killed one leaves it, a restarted one is replaced.
    final class Rotation: Sendable {
        private let state: Mutex<(ports: [UInt16?], next: Int)>
        init(_ ports: [UInt16]) { state = Mutex((ports.map { Optional($0) }, 0)) }
        /// The next live instance's port.
        func port() -> UInt16 {
            state.withLock { state in
                for _ in 0..<state.ports.count {
                    let index = state.next % state.ports.count
                    state.next += 1
                    if let port = state.ports[index] { return port }
                }
                return 0
            }
        }
        func set(_ index: Int, _ port: UInt16?) { state.withLock { $0.ports[index] = port } }
    }

    /// What the senders and the test share.
    final class Progress: Sendable {
        let next = Atomic<Int>(0)
        let acknowledged = Mutex<[String]>([])
        let restarted = Mutex<GatewayProcess?>(nil)
        let leasedAtKill = Atomic<Int>(0)
    }

    static let total = 5_000
    static let senders = 8

    @Test
    func everyAcknowledgedEventIsDeliveredOnceWhileOneInstanceDiesAndAnotherRestarts() async throws {
        let servers = try await SharedServers()
        defer { servers.stopNow() }
        let (redis, postgres) = (servers.redis, servers.postgres)
        let cluster = try SharedStateTests.Cluster(
            redis, postgres: postgres, extra: 2,
            // A 2 s attempt limit makes the lease 14 s; the backend's 50 ms answers keep
            // deliveries in flight when the instance is killed.
            edits: EventEndToEndTests.fastSchedule(
                maxAttempts: 100, extra: ["concurrency": 24, "attemptTimeoutMs": 2_000]),
            mockArguments: ["--latency-ms", "50"])
        let environment = cluster.environment
        let rotation = Rotation(cluster.ports)
        let secret = try #require(
            StandardWebhooksVerifier.decodeSecret(try OAuthEndToEndTests.key("webhooks-demo.secret")))
        let progress = Progress()
        let victim = cluster.others[0]
        let restarting = cluster.others[1]
        defer {
            progress.restarted.withLock { $0 }?.terminate()
            cluster.stop()
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.senders {
                group.addTask {
                    // Blocking sockets on threads of their own: the cooperative pool (two
                    // threads here) stays free for the task that kills and restarts.
                    try await blocking {
                        while true {
                            let index = progress.next.add(1, ordering: .relaxed).oldValue
                            guard index < Self.total else { return }
                            let id = "msg_cluster_\(index)"
                            let caseNumber = String(format: "330100-2026-%06d", index)
                            // Like a platform behind a load balancer: send until acknowledged,
                            // to whichever instance is next.
                            while EventCrashTests.send(
                                id: id, caseNumber: caseNumber, port: rotation.port(), secret: secret) != 204
                            {
                                Thread.sleep(forTimeInterval: 0.02)
                            }
                            progress.acknowledged.withLock { $0.append(id) }
                        }
                    }
                }
            }
            group.addTask {
                // One instance killed (its leases are left to run out), never restarted.
                try await Task.sleep(for: .milliseconds(800))
                kill(victim.processIdentifier, SIGKILL)
                _ = victim.waitForExit()
                rotation.set(1, nil)
                let owner = try String(contentsOfFile: victim.dataDirectory + "/instance-id", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                progress.leasedAtKill.store(
                    Int(
                        try await postgres.psql(
                            "SELECT count(*) FROM citygate_event WHERE lease_owner = '\(owner)' AND state = 'pending'"))
                        ?? -1, ordering: .relaxed)
                // Another stopped and started again on its data directory (same instance id).
                try await Task.sleep(for: .milliseconds(800))
                rotation.set(2, nil)
                restarting.terminate()
                _ = restarting.waitForExit()
                let replacement = try GatewayProcess.start(
                    manifests: environment.manifests, data: restarting.dataDirectory)
                progress.restarted.withLock { $0 = replacement }
                rotation.set(2, replacement.publicPort)
            }
            try await group.waitForAll()
        }
        let sent = Date()
        let acked = progress.acknowledged.withLock { $0 }
        #expect(acked.count == Self.total)
        let leased = progress.leasedAtKill.load(ordering: .relaxed)
        #expect(leased > 0, "the killed instance held no deliveries: nothing was taken over")
        // The killed instance's leases run out (30 s), then the survivors deliver what it held.
        let mock = try await EventEndToEndTests.expectEachDeliveredOnce(
            acked, total: Self.total, environment, within: .seconds(150), every: .milliseconds(500))
        let drainSeconds = Date().timeIntervalSince(sent)
        // The backend counts an event before it answers; the outcome is committed just after.
        let recorded = await eventually(timeout: .seconds(20), every: .milliseconds(200)) {
            (try? await postgres.psql("SELECT count(*) FROM citygate_event WHERE state <> 'delivered'")) == "0"
        }
        #expect(recorded, "every event recorded as delivered in the shared inbox")
        print(
            "cluster events: \(Self.total) events over 3 instances, one SIGKILLed holding \(leased) leased "
                + "deliveries, one restarted; \(mock["duplicates"] as? Int ?? -1) redeliveries absorbed by the idempotency key; "
                + "drained \(Int(drainSeconds)) s after the last acknowledgement")
    }

    /// PostgreSQL stopped mid-run: events are refused with 503 `inbox-unavailable` and
    /// `Retry-After` (nothing acknowledged that is not committed), `/readyz` fails its
    /// `shared-inbox` check; started again, the same instance accepts and delivers without a
    /// restart. Then Redis stopped: events are still accepted and delivered (their replay
    /// protection is the inbox's own uniqueness of partner and event key, in PostgreSQL, not the
    /// Redis window), while signed calls fail closed with 503 `state-unavailable` and `/readyz`
    /// fails `shared-state`. Every event the gateway acknowledged is delivered.
    @Test
    func aStoppedPostgreSQLRefusesEventsAndRedisDoesNotAndTheGatewayRecovers() async throws {
        let servers = try await SharedServers()
        defer { servers.stopNow() }
        let (redis, postgres) = (servers.redis, servers.postgres)
        let cluster = try SharedStateTests.Cluster(
            redis, postgres: postgres, extra: 0, edits: EventEndToEndTests.fastSchedule())
        defer { cluster.stop() }
        let environment = cluster.environment
        let port = environment.gateway.publicPort
        let secret = try #require(
            StandardWebhooksVerifier.decodeSecret(try OAuthEndToEndTests.key("webhooks-demo.secret")))
        #expect(
            EventCrashTests.send(id: "msg_pg_before", caseNumber: "330100-2026-900001", port: port, secret: secret)
                == 204)
        try await postgres.stop()
        let body = Array(#"{"type":"case.progress","data":{"caseNumber":"330100-2026-900002","stage":"受理"}}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        let signature = try StandardWebhooksVerifier.sign(
            id: "msg_pg_during", timestamp: now, body: body, secret: secret)
        let client = try RawClient(port: port)
        try client.send(
            Array(
                "POST /v1/partners/webhooks-demo/events HTTP/1.1\r\nHost: gateway\r\nwebhook-id: msg_pg_during\r\nwebhook-timestamp: \(now)\r\nwebhook-signature: \(signature)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
                    .utf8) + body)
        let refused = try client.readResponse()
        #expect(refused.statusCode == 503, "\(refused.text)")
        #expect(refused.text.contains("inbox-unavailable"), "\(refused.text)")
        #expect(refused.header("Retry-After") != nil)
        #expect(refused.header("Content-Type")?.hasPrefix("application/problem+json") == true)
        let readiness = try OpsStatusTests.ops(environment, "/readyz")
        #expect(readiness.statusCode == 503 && readiness.text.contains("shared-inbox"), "\(readiness.text)")
        try await postgres.start()
        // The platform retries the refused event; it is accepted once PostgreSQL answers.
        let accepted = await eventually(timeout: .seconds(15), every: .milliseconds(250)) {
            EventCrashTests.send(id: "msg_pg_during", caseNumber: "330100-2026-900002", port: port, secret: secret)
                == 204
        }
        #expect(accepted)
        #expect(try OpsStatusTests.ops(environment, "/readyz").statusCode == 200)
        let delivered = await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
            let processed = (try? EventEndToEndTests.mockEvents(environment))?["processed"] as? [String: String] ?? [:]
            return Set(processed.values).isSuperset(of: ["msg_pg_before", "msg_pg_during"])
        }
        #expect(delivered)

        try await redis.stop()
        let duringRedis = try Self.sendRaw(id: "msg_redis_during", port: port, secret: secret)
        #expect(duringRedis.statusCode == 204, "\(duringRedis.text)")
        let call = try SharedStateTests.send(try SharedStateTests.signed(environment), to: port)
        #expect(call.statusCode == 503 && call.text.contains("state-unavailable"), "\(call.text)")
        let notReady = try OpsStatusTests.ops(environment, "/readyz")
        #expect(notReady.statusCode == 503 && notReady.text.contains("shared-state"), "\(notReady.text)")
        try await redis.start()
        let callsAgain = await eventually(timeout: .seconds(15), every: .milliseconds(250)) {
            (try? SharedStateTests.send(try SharedStateTests.signed(environment), to: port))?.statusCode == 200
        }
        #expect(callsAgain)
        let all = await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
            let processed = (try? EventEndToEndTests.mockEvents(environment))?["processed"] as? [String: String] ?? [:]
            return Set(processed.values).isSuperset(of: ["msg_pg_before", "msg_pg_during", "msg_redis_during"])
        }
        #expect(all, "every acknowledged event delivered")
    }

    /// One signed event sent once, its answer returned (whatever the status).
    static func sendRaw(id: String, port: UInt16, secret: [UInt8]) throws -> RawClient.Response {
        let body = Array(#"{"type":"case.progress","data":{"caseNumber":"330100-2026-900003","stage":"受理"}}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        let signature = try StandardWebhooksVerifier.sign(id: id, timestamp: now, body: body, secret: secret)
        let client = try RawClient(port: port)
        try client.send(
            Array(
                "POST /v1/partners/webhooks-demo/events HTTP/1.1\r\nHost: gateway\r\nwebhook-id: \(id)\r\nwebhook-timestamp: \(now)\r\nwebhook-signature: \(signature)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
                    .utf8) + body)
        return try client.readResponse()
    }
}
