import CityGate
import Cryptography
import Foundation
import HTTPCore
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The inbox's promise under the worst stop there is: 5,000 events sent while the gateway is
/// killed with SIGKILL at random moments, restarted on the same data directory each time.
/// Every event the gateway acknowledged reaches the backend, under exactly one idempotency key.
@Suite(.serialized)
struct EventCrashTests {
    typealias Environment = CallEndToEndTests.Environment

    /// The running gateway, replaced after each kill.
    final class Current: Sendable {
        let state: Mutex<(gateway: GatewayProcess, generation: Int)>
        init(_ gateway: GatewayProcess) { state = Mutex((gateway, 0)) }
        var port: UInt16 { state.withLock { $0.gateway.publicPort } }
        var gateway: GatewayProcess { state.withLock { $0.gateway } }
        func replace(with gateway: GatewayProcess) { state.withLock { $0 = (gateway, $0.generation + 1) } }
    }

    /// What the senders share.
    final class Progress: Sendable {
        let next = Atomic<Int>(0)
        let acknowledged = Mutex<[String]>([])
        let sending = Atomic<Bool>(true)
    }

    static let total = 5_000
    static let senders = 8
    static let kills = 3

    static func send(id: String, caseNumber: String, port: UInt16, secret: [UInt8]) -> Int? {
        let body = Array(#"{"type":"case.progress","data":{"caseNumber":"\#(caseNumber)","stage":"受理"}}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        guard let signature = try? StandardWebhooksVerifier.sign(id: id, timestamp: now, body: body, secret: secret),
            let client = try? RawClient(port: port, receiveTimeout: 3)
        else { return nil }
        let head =
            "POST /v1/partners/webhooks-demo/events HTTP/1.1\r\nHost: gateway\r\nwebhook-id: \(id)\r\nwebhook-timestamp: \(now)\r\nwebhook-signature: \(signature)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        guard (try? client.send(Array(head.utf8) + body)) != nil, let response = try? client.readResponse() else {
            return nil
        }
        return response.statusCode
    }

    @Test
    func everyAcknowledgedEventIsDeliveredOnceThroughRepeatedKills() async throws {
        let environment = try Environment(
            extraEdits: EventEndToEndTests.fastSchedule(maxAttempts: 100, extra: ["concurrency": 64]))
        defer { environment.stop() }
        let current = Current(environment.gateway)
        let secret = try #require(
            StandardWebhooksVerifier.decodeSecret(try OAuthEndToEndTests.key("webhooks-demo.secret")))
        let progress = Progress()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<Self.senders {
                group.addTask {
                    while true {
                        let index = progress.next.add(1, ordering: .relaxed).oldValue
                        guard index < Self.total else { return }
                        let id = "msg_crash_\(index)"
                        let caseNumber = String(format: "330100-2026-%06d", index)
                        // Like a platform: send until acknowledged, whatever happens in between.
                        while Self.send(id: id, caseNumber: caseNumber, port: current.port, secret: secret) != 204 {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        progress.acknowledged.withLock { $0.append(id) }
                    }
                }
            }
            group.addTask {
                for _ in 0..<Self.kills {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 300...1_500)))
                    guard progress.sending.load(ordering: .relaxed) else { return }
                    let victim = current.gateway
                    kill(victim.processIdentifier, SIGKILL)
                    _ = victim.waitForExit()
                    current.replace(
                        with: try GatewayProcess.start(manifests: environment.manifests, data: victim.dataDirectory))
                }
            }
            // Senders finish first; then the killer stops.
            for _ in 0..<Self.senders + 1 { try await group.next() }
            progress.sending.store(false, ordering: .relaxed)
        }
        defer {
            current.gateway.terminate()
            _ = current.gateway.waitForExit()
        }
        let acked = progress.acknowledged.withLock { $0 }
        #expect(acked.count == Self.total)
        #expect(current.state.withLock { $0.generation } == Self.kills, "the gateway was killed \(Self.kills) times")

        let mock = try await EventEndToEndTests.expectEachDeliveredOnce(
            acked, total: Self.total, environment, within: .seconds(120), every: .milliseconds(250))
        let redelivered = mock["duplicates"] as? Int ?? -1
        print(
            "crash test: \(Self.total) events, \(Self.kills) SIGKILLs, \(redelivered) redeliveries absorbed by the idempotency key"
        )
    }
}
