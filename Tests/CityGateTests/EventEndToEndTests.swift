import CityGate
import Cryptography
import Foundation
import HTTPCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Partner events through the gateway binary: real senders from PyPI, the acknowledgement each
/// platform expects byte for byte, de-duplication, limits, outages, dead letters and replay.
@Suite(.serialized)
struct EventEndToEndTests {
    typealias Environment = CallEndToEndTests.Environment
    typealias OAuth = OAuthEndToEndTests

    /// Fast retries, so outages and dead letters take milliseconds.
    static func fastSchedule(maxAttempts: Int = 10, extra: [String: Int] = [:]) -> [String:
        @Sendable (inout [String: Any]) -> Void]
    {
        [
            "gateway.json": { gateway in
                var events: [String: Any] = ["maxAttempts": maxAttempts, "initialDelayMs": 20, "maxDelayMs": 100]
                for (key, value) in extra { events[key] = value }
                gateway["events"] = events
            }
        ]
    }

    static func sendEvent(_ environment: Environment, _ op: String, _ fields: [String: Any]) async throws -> [String:
        Any]
    {
        var command = fields
        command["op"] = op
        command["port"] = Int(environment.gateway.publicPort)
        return try await Interop.run(command, script: "events.py")
    }

    static func mockEvents(_ environment: Environment, backend: String = "approvals") throws -> [String: Any] {
        let client = try RawClient(port: UInt16(try #require(environment.mockPorts[backend])))
        try client.send("GET /_mock/events HTTP/1.1\r\nHost: mock\r\n\r\n")
        return try #require(try JSONSerialization.jsonObject(with: Data(client.readResponse().body)) as? [String: Any])
    }

    /// Waits up to `timeout` for the mock backend to have processed `total` events, then
    /// checks each acknowledged event was delivered under exactly one Idempotency-Key; returns
    /// the mock's report (`duplicates`: redeliveries it absorbed).
    static func expectEachDeliveredOnce(
        _ acknowledged: [String], total: Int, _ environment: Environment, within timeout: Duration,
        every interval: Duration
    ) async throws -> [String: Any] {
        let drained = await eventually(timeout: timeout, every: interval) {
            ((try? mockEvents(environment))?["processed"] as? [String: String])?.count ?? 0 >= total
        }
        #expect(drained)
        let mock = try mockEvents(environment)
        let processed = try #require(mock["processed"] as? [String: String])
        let missing = Set(acknowledged).subtracting(processed.values)
        #expect(missing.isEmpty, "\(missing.count) acknowledged events were never delivered")
        #expect(processed.count == total, "one idempotency key per event")
        #expect(Set(processed.values).count == processed.count, "no event under two keys")
        return mock
    }

    static func setBackend(_ environment: Environment, down: Bool) throws {
        let client = try RawClient(port: UInt16(try #require(environment.mockPorts["approvals"])))
        let body = down ? "down" : "up"
        try client.send(
            "POST /_mock/events/mode HTTP/1.1\r\nHost: mock\r\nContent-Length: \(body.count)\r\n\r\n\(body)")
        _ = try client.readResponse()
    }

    static func deliveries(_ environment: Environment, state: String? = nil) throws -> [String: Any] {
        try OAuth.json(
            try CitizenCallTests.admin(environment, "GET", "/admin/deliveries" + (state.map { "?state=\($0)" } ?? "")))
    }

    static func count(_ environment: Environment, _ state: String) throws -> Int {
        (try deliveries(environment)["counts"] as? [String: Int])?[state] ?? -1
    }

    /// A Standard Webhooks case event signed by our signer (the PyPI senders are used where the
    /// test is about interoperability; here it is about the inbox).
    static func caseEvent(_ environment: Environment, id: String, caseNumber: String = "330100-2026-000001")
        throws -> RawClient.Response
    {
        let body = Array(#"{"type":"case.progress","data":{"caseNumber":"\#(caseNumber)","stage":"审核中"}}"#.utf8)
        let secret = try #require(StandardWebhooksVerifier.decodeSecret(try OAuth.key("webhooks-demo.secret")))
        let now = Int64(Date().timeIntervalSince1970)
        let signature = try StandardWebhooksVerifier.sign(id: id, timestamp: now, body: body, secret: secret)
        return try environment.send(
            SignedRequest(
                method: "POST", path: "/v1/partners/webhooks-demo/events",
                headers: ["webhook-id": id, "webhook-timestamp": "\(now)", "webhook-signature": signature],
                body: body))
    }

    @Test
    func pypiSendersGetTheAcknowledgementTheirPlatformExpects() async throws {
        let environment = try Environment()
        defer { environment.stop() }
        // Standard Webhooks: 2xx with an empty body.
        let webhook = try await Self.sendEvent(
            environment, "standardwebhooks",
            [
                "secret": try OAuth.key("webhooks-demo.secret"),
                "event": ["type": "case.progress", "data": ["caseNumber": "330100-2026-000007", "stage": "办结"]],
            ])
        #expect(webhook["status"] as? Int == 204, "\(webhook)")
        #expect(webhook["body"] as? String == "")
        // WeChat, safe mode: the exact body "success".
        let revoke =
            "<xml><ToUserName><![CDATA[gh_city]]></ToUserName><FromUserName><![CDATA[oCitizen123]]></FromUserName><CreateTime>1796000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[user_authorization_revoke]]></Event></xml>"
        let wechat = [
            "token": try OAuth.key("wechat-city.token"), "encodingAESKey": try OAuth.key("wechat-city.aeskey"),
            "appid": "wx49f0ab532d5d035a",
        ]
        let pushed = try await Self.sendEvent(environment, "wechat", wechat.merging(["message": revoke]) { a, _ in a })
        #expect(pushed["status"] as? Int == 200, "\(pushed)")
        #expect(pushed["body"] as? String == "success")
        // WeChat URL verification answers echostr verbatim.
        let echo = try await Self.sendEvent(
            environment, "wechat-url", wechat.merging(["echostr": "7261945512"]) { a, _ in a })
        #expect(echo["status"] as? Int == 200)
        #expect(echo["body"] as? String == "7261945512")
        // WeChat Pay: 204 with no body.
        let certificate = try Certificate(
            pem: try String(contentsOf: OAuth.keys.appendingPathComponent("wechatpay-platform.pem"), encoding: .utf8))
        let paid = try await Self.sendEvent(
            environment, "wechatpay",
            [
                "apiV3Key": try OAuth.key("wechatpay-city.apiv3key"),
                "privateKey": try String(
                    contentsOf: OAuth.keys.appendingPathComponent("wechatpay-platform.key"), encoding: .utf8),
                "serial": certificate.serialNumber, "id": "EV-2026120100001",
                "resource": [
                    "out_trade_no": "PERMIT-330100-0001", "transaction_id": "4200001", "trade_state": "SUCCESS",
                ],
            ])
        #expect(paid["status"] as? Int == 204, "\(paid)")
        #expect(paid["body"] as? String == "")
        // Alipay: the exact body "success".
        let alipay = try await Self.sendEvent(
            environment, "alipay",
            [
                "privateKey": try String(
                    contentsOf: OAuth.keys.appendingPathComponent("alipay-platform.key"), encoding: .utf8),
                "publicKey": try String(
                    contentsOf: OAuth.keys.appendingPathComponent("alipay-platform.pub"), encoding: .utf8),
                "parameters": [
                    "notify_id": "ac05099524730693a8b330c5ecf72da9786", "notify_type": "trade_status_sync",
                    "notify_time": "2026-12-01 10:00:00", "charset": "utf-8", "version": "1.0",
                    "app_id": "2021000000000001", "out_trade_no": "PERMIT-330100-0002", "trade_no": "2026120122001",
                    "trade_status": "TRADE_SUCCESS", "total_amount": "50.00",
                ],
            ])
        #expect(alipay["status"] as? Int == 200, "\(alipay)")
        #expect(alipay["body"] as? String == "success")

        // Each reached its bound backend operation once, with a stable idempotency key.
        // (The mock backends share one event recorder.)
        let delivered = await eventually(timeout: .seconds(10)) {
            ((try? Self.mockEvents(environment))?["processed"] as? [String: String])?.count == 4
        }
        let listing = try Self.deliveries(environment)
        #expect(delivered, "\(listing)")
        let processed = try #require(try Self.mockEvents(environment)["processed"] as? [String: String])
        #expect(processed["evt_webhooks-demo_1"]?.hasPrefix("msg_") == true, "the webhook-id")
        #expect(processed["evt_wechat-city_2"] == "oCitizen123:1796000000", "FromUserName:CreateTime")
        #expect(processed["evt_wechatpay-city_3"] == "EV-2026120100001", "the notification id")
        #expect(processed["evt_alipay-city_4"] == "ac05099524730693a8b330c5ecf72da9786", "notify_id")
        #expect(try Self.count(environment, "delivered") == 4)

        // A failure answers the platform's own refusal format: WeChat Pay's {"code":"FAIL"}.
        var forged = paid
        forged["status"] = nil
        let tampered = try await Self.sendEvent(
            environment, "wechatpay",
            [
                "apiV3Key": try OAuth.key("wechatpay-city.apiv3key"),
                "privateKey": try AsymmetricKey.generateRSA().privateKeyPEM(), "serial": certificate.serialNumber,
                "id": "EV-forged", "resource": ["out_trade_no": "X"],
            ])
        #expect(tampered["status"] as? Int == 401)
        #expect((tampered["body"] as? String)?.contains("\"code\":\"FAIL\"") == true, "\(tampered)")
    }

    @Test
    func duplicatesAreAcknowledgedAndDeliveredOnce() async throws {
        let environment = try Environment(extraEdits: Self.fastSchedule())
        defer { environment.stop() }
        let first = try Self.caseEvent(environment, id: "msg_dup_1")
        #expect(first.statusCode == 204)
        #expect(first.header("X-CityGate-Duplicate") == nil)
        let again = try Self.caseEvent(environment, id: "msg_dup_1")
        #expect(again.statusCode == 204, "a retry is acknowledged again")
        #expect(again.header("X-CityGate-Duplicate") == "true")
        // The same event at the same instant from eight connections: all acknowledged, one stored.
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try Self.caseEvent(environment, id: "msg_dup_2").statusCode } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 204, count: 8))
        let settled = await eventually(timeout: .seconds(10)) { (try? Self.count(environment, "delivered")) == 2 }
        #expect(settled)
        let mock = try Self.mockEvents(environment)
        #expect((mock["processed"] as? [String: String])?.count == 2)
        #expect(mock["duplicates"] as? Int == 0, "never delivered twice")
    }

    @Test
    func oversizeUnboundAndUnreadableEvents() throws {
        let environment = try Environment(extraEdits: Self.fastSchedule(extra: ["maxEventBytes": 2048]))
        defer { environment.stop() }
        let padding = String(repeating: "x", count: 3000)
        let body = Array(#"{"type":"case.progress","data":{"note":"\#(padding)"}}"#.utf8)
        let secret = try #require(StandardWebhooksVerifier.decodeSecret(try OAuth.key("webhooks-demo.secret")))
        let now = Int64(Date().timeIntervalSince1970)
        func signed(_ body: [UInt8], id: String) throws -> SignedRequest {
            SignedRequest(
                method: "POST", path: "/v1/partners/webhooks-demo/events",
                headers: [
                    "webhook-id": id, "webhook-timestamp": "\(now)",
                    "webhook-signature": try StandardWebhooksVerifier.sign(
                        id: id, timestamp: now, body: body, secret: secret),
                ], body: body)
        }
        let large = try environment.send(try signed(body, id: "msg_large"))
        #expect(large.statusCode == 413)
        #expect(try OAuth.json(large)["type"] as? String == Problem.typePrefix + "event-too-large")
        // An event type no service binds is kept and visible, not dropped.
        let unbound = try environment.send(
            try signed(Array(#"{"type":"citizen.rating","data":{"stars":5}}"#.utf8), id: "msg_rating"))
        #expect(unbound.statusCode == 204)
        let listed = try #require(try Self.deliveries(environment, state: "unbound")["deliveries"] as? [[String: Any]])
        #expect(listed.first?["eventType"] as? String == "citizen.rating")
        // No type: refused with a problem (the platform will see it failed).
        let untyped = try environment.send(try signed(Array(#"{"data":{}}"#.utf8), id: "msg_untyped"))
        #expect(untyped.statusCode == 400)
        #expect(try OAuth.json(untyped)["type"] as? String == Problem.typePrefix + "unreadable-event")
        // Unknown partner, bad signature.
        var forged = try signed(Array(#"{"type":"case.progress","data":{}}"#.utf8), id: "msg_forged")
        forged.body = Array(#"{"type":"case.progress","data":{"x":1}}"#.utf8)
        #expect(try environment.send(forged).statusCode == 401)
        forged.path = "/v1/partners/nobody/events"
        #expect(try environment.send(forged).statusCode == 404)
        #expect(try Self.count(environment, "pending") + Self.count(environment, "delivered") == 0)
    }

    @Test
    func backendOutagePilesUpThenDrainsInOrder() async throws {
        let environment = try Environment(extraEdits: Self.fastSchedule(maxAttempts: 100))
        defer { environment.stop() }
        try Self.setBackend(environment, down: true)
        for index in 0..<20 {
            #expect(try Self.caseEvent(environment, id: "msg_outage_\(index)").statusCode == 204)
        }
        let retrying = await eventually(timeout: .seconds(10)) {
            let pending = (try? Self.deliveries(environment, state: "pending"))?["deliveries"] as? [[String: Any]] ?? []
            return pending.count == 20 && pending.contains { ($0["attempts"] as? Int ?? 0) >= 2 }
        }
        #expect(retrying, "events pile up and are retried while the backend is down")
        let pending = try #require(try Self.deliveries(environment, state: "pending")["deliveries"] as? [[String: Any]])
        // All 20 are for one case, so only the oldest is tried; the others wait their turn.
        let tried = pending.filter { ($0["attempts"] as? Int ?? 0) > 0 }
        #expect(tried.count == 1)
        #expect((tried.first?["lastError"] as? String)?.contains("answered 503") == true)
        try Self.setBackend(environment, down: false)
        let drained = await eventually(timeout: .seconds(15)) { (try? Self.count(environment, "delivered")) == 20 }
        #expect(drained)
        // One case number orders its events: they reach the backend in the order received.
        let arrivals = try #require(try Self.mockEvents(environment)["arrivals"] as? [String])
        #expect(arrivals == (0..<20).map { "msg_outage_\($0)" })
    }

    @Test
    func deadLettersKeepTheirReasonAndReplayDeliversThem() async throws {
        let environment = try Environment(extraEdits: Self.fastSchedule(maxAttempts: 3))
        defer { environment.stop() }
        try Self.setBackend(environment, down: true)
        let started = Int64(Date().timeIntervalSince1970 * 1000)
        for index in 0..<3 {
            #expect(
                try Self.caseEvent(environment, id: "msg_dead_\(index)", caseNumber: "330100-2026-00010\(index)")
                    .statusCode == 204)
        }
        let dead = await eventually(timeout: .seconds(10)) { (try? Self.count(environment, "dead")) == 3 }
        #expect(dead)
        let letters = try #require(try Self.deliveries(environment, state: "dead")["deliveries"] as? [[String: Any]])
        #expect(
            letters.allSatisfy {
                $0["attempts"] as? Int == 3 && ($0["lastError"] as? String)?.contains("answered 503") == true
            })
        try Self.setBackend(environment, down: false)
        // One by id, then the rest by time range.
        let first = try #require(letters.last?["id"] as? Int)
        #expect(try CitizenCallTests.admin(environment, "POST", "/admin/deliveries/\(first)/replay").statusCode == 200)
        #expect(try CitizenCallTests.admin(environment, "POST", "/admin/deliveries/\(first)/replay").statusCode == 409)
        let bulk = try CitizenCallTests.admin(
            environment, "POST", "/admin/deliveries/replay?from=\(started)&to=\(started + 600_000)")
        #expect(try OAuth.json(bulk)["replayed"] as? Int == 2)
        // Replays are admin actions: both are in the audit chain, the refused second one is not.
        let chain = try OAuth.json(try CitizenCallTests.admin(environment, "GET", "/admin/audit/chain"))
        let replays = (chain["entries"] as? [[String: Any]] ?? []).filter {
            $0["kind"] as? String == "deliveries.replayed"
        }
        #expect(replays.count == 2, "\(chain)")
        let delivered = await eventually(timeout: .seconds(10)) { (try? Self.count(environment, "delivered")) == 3 }
        #expect(delivered)
        #expect(try CitizenCallTests.admin(environment, "POST", "/admin/deliveries/replay").statusCode == 400)
        #expect(try CitizenCallTests.admin(environment, "GET", "/admin/deliveries?state=lost").statusCode == 400)
    }

    @Test
    func aFullInboxRefusesInsteadOfAcknowledging() async throws {
        // A 1 MiB inbox fills after a few hundred events; past that the partner gets 503 and
        // retries later: nothing acknowledged is ever missing.
        let environment = try Environment(extraEdits: Self.fastSchedule(extra: ["maxInboxMegabytes": 1]))
        defer { environment.stop() }
        var acknowledged: [String] = []
        var refused: RawClient.Response?
        for index in 0..<2_000 {
            let response = try Self.caseEvent(
                environment, id: "msg_full_\(index)", caseNumber: "330100-2026-\(String(format: "%06d", index))")
            if response.statusCode == 204 {
                acknowledged.append("msg_full_\(index)")
            } else {
                refused = response
                break
            }
        }
        let refusal = try #require(refused, "the inbox never filled")
        #expect(refusal.statusCode == 503)
        #expect(refusal.header("Retry-After") == "5")
        #expect(try OAuth.json(refusal)["type"] as? String == Problem.typePrefix + "inbox-unavailable")
        #expect(acknowledged.count > 10)
        let drained = await eventually(timeout: .seconds(30)) {
            (try? Self.count(environment, "delivered")) == acknowledged.count
        }
        let counts = try Self.deliveries(environment)["counts"] ?? [:]
        #expect(drained, "\(counts)")
        let processed = try #require(try Self.mockEvents(environment)["processed"] as? [String: String])
        let missing = Set(acknowledged).subtracting(processed.values)
        #expect(missing.isEmpty, "\(missing.count) acknowledged events never delivered")
        #expect(processed.count == acknowledged.count)
    }
}
