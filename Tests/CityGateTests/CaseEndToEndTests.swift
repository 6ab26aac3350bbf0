import CityGate
import Foundation
import HTTPCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The case lifecycle through the binaries: the gateway, the mock government backends, and mock
/// partner platforms (mocks/partner_receiver.py) that verify every push with the platform's own
/// PyPI library — standardwebhooks, wechatpy, python-alipay-sdk.
@Suite(.serialized)
struct CaseEndToEndTests {
    typealias Environment = CallEndToEndTests.Environment

    /// The partners that apply here, one per pushing scheme.
    static let partners = ["webhooks-demo", "wechat-city", "alipay-city"]
    static let applicant = "33010619900101123X"
    static let otherCitizen = "11010519491231002X"

    /// The Python partner receiver on `port` (0: any).
    final class Receiver: @unchecked Sendable {
        // @unchecked: used by one test at a time.
        let process = Process()
        let port: Int

        init(port: Int = 0) throws {
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: Interop.python)
            process.arguments = [
                ExternalProcess.packageRoot.appendingPathComponent("mocks/partner_receiver.py").path, "--port",
                "\(port)",
            ]
            process.standardOutput = output
            try process.run()
            let line = output.fileHandleForReading.availableData
            let object = try JSONSerialization.jsonObject(with: line) as? [String: Any]
            self.port = try #require(object?["mockPartners"] as? Int)
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// Every push received so far.
        func pushes() throws -> [[String: Any]] {
            let client = try RawClient(port: UInt16(port))
            try client.send("GET /_mock/pushes HTTP/1.1\r\nHost: mock\r\n\r\n")
            let body = try JSONSerialization.jsonObject(with: Data(client.readResponse().body)) as? [String: Any]
            return body?["pushes"] as? [[String: Any]] ?? []
        }

        /// Makes the next `count` pushes answer 503.
        func fail(next count: Int) throws {
            let client = try RawClient(port: UInt16(port))
            try client.send("POST /_mock/fail?count=\(count) HTTP/1.1\r\nHost: mock\r\nContent-Length: 0\r\n\r\n")
            _ = try client.readResponse()
        }

        /// The content of a verified push, whatever the platform's envelope.
        static func content(_ push: [String: Any]) -> [String: Any]? {
            guard push["verified"] as? Bool == true, let message = push["message"] as? [String: Any] else { return nil }
            if let data = message["data"] as? [String: Any] { return data }  // Standard Webhooks
            if let data = message["Data"] as? [String: Any] { return data }  // WeChat
            return (message["biz_content"] as? [String: Any])?["data"] as? [String: Any]  // Alipay
        }
    }

    /// Points each partner's push at the receiver, with a fast retry schedule.
    static func edits(receiverPort: Int, maxDelayMilliseconds: Int = 100) -> [String:
        @Sendable (inout [String: Any]) -> Void]
    {
        var edits = EventEndToEndTests.fastSchedule(maxAttempts: 100, extra: ["maxDelayMs": maxDelayMilliseconds])
        // The halls backend reports progress too (to show it cannot report on another's cases).
        edits["cities/330100.json"] = { city in
            var backends = city["backends"] as? [String: [String: Any]] ?? [:]
            backends["halls"]?["progressKeys"] = [
                ["id": "h", "secret": "file:../../mocks/keys/approvals-330100-progress.secret"]
            ]
            city["backends"] = backends
        }
        for partner in partners {
            edits["partners/\(partner).json"] = { object in
                var push = object["push"] as? [String: Any] ?? [:]
                push["url"] = "http://127.0.0.1:\(receiverPort)/push/\(partner)"
                object["push"] = push
            }
        }
        return edits
    }

    /// A citizen token of `partner` from its own assertion key (`citygate assertion`).
    static func token(
        _ environment: Environment, partner: String, citizen: String,
        scope: String = "permit.write cases.read cases.rate"
    ) async throws -> String {
        let assertion = try await ExternalProcess.run(
            CommandLineTests.binary,
            [
                "assertion", "--partner", partner, "--subject", citizen, "--city", "330100", "--manifests",
                environment.manifests,
            ])
        #expect(assertion.status == 0, "\(assertion.standardError)")
        let response = try OAuthEndToEndTests.post(
            environment,
            [
                ("grant_type", OAuthEndToEndTests.exchange),
                ("subject_token", assertion.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)),
                ("subject_token_type", OAuthEndToEndTests.jwtType), ("scope", scope),
            ], client: ("\(partner)-app", ""))
        #expect(response.statusCode == 200, "\(response.text)")
        return try #require(try CallEndToEndTests.json(response)["access_token"] as? String)
    }

    /// WeChat-style platforms sign only POSTs: they read the case view by POSTing `{}`.
    static func viewMethod(_ partner: String) -> String { partner == "wechat-city" ? "POST" : "GET" }
    static func viewBody(_ partner: String) -> String { partner == "wechat-city" ? "{}" : "" }

    /// A call signed by `partner` with `token`; Alipay-style bodies carry the JSON in biz_content.
    static func signed(
        _ environment: Environment, partner: String, method: String = "POST", path: String, json: String = "",
        token: String
    ) throws -> RawClient.Response {
        let body = partner == "alipay-city" && !json.isEmpty ? FormEncoding.encode([("biz_content", json)]) : json
        var request = try RequestSigner(partner: try environment.partner(partner)).sign(
            method: method, path: path, body: Array(body.utf8))
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        return try environment.send(request)
    }

    static func apply(_ environment: Environment, partner: String, token: String) throws -> String {
        let response = try signed(
            environment, partner: partner, path: "/v1/cities/330100/services/permit.application/apply",
            json:
                #"{"applicant":{"name":"张三","idNumber":"\#(applicant)","phone":"13800138000"},"location":"西湖区文三路 100 号","from":"2026-12-10","to":"2026-12-12"}"#,
            token: token)
        #expect(response.statusCode == 200, "\(partner): \(response.text)")
        let answer = try CallEndToEndTests.json(response)
        #expect(answer["deadlines"] is [String: String], "\(partner)")
        return try #require(answer["caseNumber"] as? String)
    }

    /// A progress report signed as the city's approvals backend.
    static func report(_ environment: Environment, number: String, body: String) throws -> RawClient.Response {
        let manifests = try ManifestSet.load(directory: environment.manifests).get()
        let reporter = try #require(manifests.progressReporter(city: "330100", backend: "approvals"))
        let request = try RequestSigner(partner: reporter).sign(
            path: "/v1/cities/330100/backends/approvals/cases/\(number)/events", body: Array(body.utf8))
        return try environment.send(request)
    }

    static func admin(_ environment: Environment, _ method: String, _ path: String, body: String = "") throws
        -> RawClient.Response
    {
        let client = try RawClient(port: environment.gateway.opsPort)
        let token = try OAuthEndToEndTests.key("admin.token")
        try client.send(
            "\(method) \(path) HTTP/1.1\r\nHost: ops\r\nAuthorization: Bearer \(token)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        return try client.readResponse()
    }

    @Test
    func applyReportPushViewRateFollowUpAndReport() async throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        let environment = try Environment(extraEdits: Self.edits(receiverPort: receiver.port))
        defer { environment.stop() }
        let t0 = Int64(Date().timeIntervalSince1970) - 3_600
        func at(_ minutes: Int64) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(t0 + minutes * 60)))
        }
        var numbers: [String: String] = [:]
        for partner in Self.partners {
            let token = try await Self.token(environment, partner: partner, citizen: Self.applicant)
            let number = try Self.apply(environment, partner: partner, token: token)
            numbers[partner] = number
            // Accepted, then review before supplement (out of order), review again (a retry), finished.
            let reports = [
                #"{"id":"e1","stage":"accepted","at":"\#(at(1))","note":"材料齐全"}"#,
                #"{"id":"e3","stage":"review","at":"\#(at(3))"}"#,
                #"{"id":"e2","stage":"补正","at":"\#(at(2))","note":"请补充场地照片"}"#,
                #"{"id":"e3","stage":"review","at":"\#(at(3))"}"#,
                #"{"id":"e4","stage":"finished","at":"\#(at(4))","note":"准予许可"}"#,
            ]
            for (index, body) in reports.enumerated() {
                let response = try Self.report(environment, number: number, body: body)
                #expect(response.statusCode == 202, "\(partner) report \(index): \(response.text)")
                let answer = try CallEndToEndTests.json(response)
                #expect(answer["duplicate"] as? Bool == (index == 3), "\(partner) report \(index)")
                #expect(answer["pushed"] as? Bool == true)
            }
            #expect(
                try CallEndToEndTests.json(
                    Self.report(
                        environment, number: number,
                        body: reports[1].replacingOccurrences(of: "review", with: "refused")))["type"] as? String
                    == "tag:citygate,2026:problem:progress-conflict")
            #expect(
                try Self.report(environment, number: number, body: #"{"id":"e9","stage":"review"}"#).statusCode == 409,
                "nothing follows 办结")

            // Four pushes for four reports, each verified by the partner's library, in report order.
            let arrived = await eventually(timeout: .seconds(20)) {
                ((try? receiver.pushes()) ?? []).filter {
                    $0["partner"] as? String == partner && Receiver.content($0)?["caseNumber"] as? String == number
                }.count >= 4
            }
            #expect(arrived, "\(partner): \((try? receiver.pushes()) ?? [])")
            let mine = try receiver.pushes().filter { $0["partner"] as? String == partner }
            #expect(mine.allSatisfy { $0["verified"] as? Bool == true }, "\(partner): \(mine)")
            let contents = mine.compactMap(Receiver.content).filter { $0["caseNumber"] as? String == number }
            #expect(contents.map { $0["stage"] as? String } == ["accepted", "review", "supplement", "finished"])
            #expect(contents.map { $0["sequence"] as? Int } == [1, 2, 3, 4])
            #expect(contents.last?["ratingInvitation"] != nil, "the invitation to rate travels with 办结")
            #expect(contents[2]["current"] as? String == "review", "the late report did not move the case back")

            // The applicant sees the case, history in stage order; another citizen gets 404.
            let view = try Self.signed(
                environment, partner: partner, method: Self.viewMethod(partner),
                path: "/v1/cities/330100/cases/\(number)", json: Self.viewBody(partner), token: token)
            #expect(view.statusCode == 200, "\(partner): \(view.text)")
            let object = try CallEndToEndTests.json(view)
            #expect(object["stage"] as? String == "finished")
            #expect(
                (object["history"] as? [[String: Any]])?.map { $0["stage"] as? String }
                    == ["accepted", "supplement", "review", "finished"])
            let stranger = try await Self.token(environment, partner: partner, citizen: Self.otherCitizen)
            let refused = try Self.signed(
                environment, partner: partner, method: Self.viewMethod(partner),
                path: "/v1/cities/330100/cases/\(number)", json: Self.viewBody(partner),
                token: stranger)
            #expect(refused.statusCode == 404, "\(partner): \(refused.text)")
            let unknown = try Self.signed(
                environment, partner: partner, method: Self.viewMethod(partner),
                path: "/v1/cities/330100/cases/330100-2026-999999", json: Self.viewBody(partner),
                token: stranger)
            #expect(unknown.statusCode == 404)
            let (strangers, nobodys) = (try CallEndToEndTests.json(refused), try CallEndToEndTests.json(unknown))
            #expect(strangers["type"] as? String == nobodys["type"] as? String, "another's case looks like no case")
            #expect(
                (strangers["detail"] as? String)?.replacingOccurrences(of: number, with: "N")
                    == (nobodys["detail"] as? String)?.replacingOccurrences(of: "330100-2026-999999", with: "N"))
            #expect(
                try Self.signed(
                    environment, partner: partner, path: "/v1/cities/330100/cases/\(number)/rating",
                    json: #"{"level":"satisfied"}"#, token: stranger
                ).statusCode == 404)

            // 好差评: once; the webhooks-demo applicant is very dissatisfied.
            let level = partner == "webhooks-demo" ? "very-dissatisfied" : "satisfied"
            let rating = try Self.signed(
                environment, partner: partner, path: "/v1/cities/330100/cases/\(number)/rating",
                json: #"{"level":"\#(level)","comment":"电话13800138000一直占线"}"#, token: token)
            #expect(rating.statusCode == 201, "\(partner): \(rating.text)")
            #expect((try CallEndToEndTests.json(rating)["followUp"] != nil) == (partner == "webhooks-demo"))
            let twice = try Self.signed(
                environment, partner: partner, path: "/v1/cities/330100/cases/\(number)/rating",
                json: #"{"level":"fair"}"#, token: token)
            #expect(twice.statusCode == 409)
            let rated = try CallEndToEndTests.json(
                try Self.signed(
                    environment, partner: partner, method: Self.viewMethod(partner),
                    path: "/v1/cities/330100/cases/\(number)", json: Self.viewBody(partner),
                    token: token))
            let comment = (rated["rating"] as? [String: Any])?["comment"] as? String ?? ""
            #expect(!comment.contains("13800138000") && comment.contains("一直占线"), "masked before storage")
            // The sample seals comments at rest (gateway.json dataEncryption, SM4-GCM).
            let database =
                try Data(
                    contentsOf: URL(fileURLWithPath: environment.gateway.dataDirectory + "/gateway.db-wal"))
                + (try Data(contentsOf: URL(fileURLWithPath: environment.gateway.dataDirectory + "/gateway.db")))
            #expect(database.range(of: Data("一直占线".utf8)) == nil, "no comment in clear in gateway.db")
        }

        // Views and ratings are citizen-bound calls: in the audit trail, refusals included.
        let audit = try CallEndToEndTests.json(try Self.admin(environment, "GET", "/admin/audit"))
        let entries = try #require(audit["entries"] as? [[String: Any]])
        #expect(
            entries.contains { $0["operation"] as? String == "case.view" && $0["status"] as? Int == 200 },
            "\(entries.suffix(3))")
        #expect(entries.contains { $0["operation"] as? String == "case.view" && $0["status"] as? Int == 404 })
        #expect(entries.contains { $0["operation"] as? String == "case.rate" && $0["status"] as? Int == 201 })

        // The department closes the follow-up; the partner is pushed the outcome.
        let followUps = try CallEndToEndTests.json(try Self.admin(environment, "GET", "/admin/followups"))
        let open = try #require((followUps["followUps"] as? [[String: Any]])?.first)
        #expect(open["caseNumber"] as? String == numbers["webhooks-demo"])
        let id = try #require(open["id"] as? Int)
        try receiver.fail(next: 2)
        let closed = try Self.admin(environment, "POST", "/admin/followups/\(id)/close", body: #"{"note":"已回访并致歉"}"#)
        #expect(closed.statusCode == 200, "\(closed.text)")
        #expect(
            try Self.admin(environment, "POST", "/admin/followups/\(id)/close", body: #"{"note":"again"}"#).statusCode
                == 409)
        let outcome = await eventually(timeout: .seconds(20)) {
            ((try? receiver.pushes()) ?? []).contains {
                ($0["message"] as? [String: Any])?["type"] as? String == "case.followup.closed"
                    && $0["verified"] as? Bool == true
            }
        }
        #expect(outcome, "the follow-up's outcome reaches the partner after two 503s")
        let deliveries = try CallEndToEndTests.json(try Self.admin(environment, "GET", "/admin/deliveries?limit=1"))
        let last = try #require((deliveries["deliveries"] as? [[String: Any]])?.first)
        #expect(last["kind"] as? String == "push")
        #expect(last["eventType"] as? String == "case.followup.closed")
        #expect(last["attempts"] as? Int == 3, "two 503s retried, then delivered")

        // One case stays open: the gauges count it.
        let token = try await Self.token(environment, partner: "webhooks-demo", citizen: Self.applicant)
        let openCase = try Self.apply(environment, partner: "webhooks-demo", token: token)

        // A backend reports only on cases of its own services: the halls backend, with keys of its
        // own, reporting on this permit case is answered like an unknown case, and nothing is written.
        let manifests = try ManifestSet.load(directory: environment.manifests).get()
        let halls = try #require(manifests.progressReporter(city: "330100", backend: "halls"))
        let foreign = try environment.send(
            try RequestSigner(partner: halls).sign(
                path: "/v1/cities/330100/backends/halls/cases/\(openCase)/events",
                body: Array(#"{"id":"h1","stage":"refused"}"#.utf8)))
        #expect(foreign.statusCode == 404, "\(foreign.text)")
        let own = try Self.report(environment, number: openCase, body: #"{"id":"h1","stage":"accepted"}"#)
        #expect(own.statusCode == 202, "\(own.text)")
        let first = try CallEndToEndTests.json(own)
        #expect(
            first["sequence"] as? Int == 1 && first["duplicate"] as? Bool == false, "the foreign report left no trace")
        let metrics = try RawClient(port: environment.gateway.opsPort)
        try metrics.send("GET /metrics HTTP/1.1\r\nHost: ops\r\n\r\n")
        let scrape = try metrics.readResponse().text
        #expect(scrape.contains(#"citygate_cases_open{city="330100",department="11330100MB1760012P"} 1"#), "\(scrape)")
        #expect(scrape.contains(#"citygate_cases_overdue{city="330100",department="11330100MB1760012P"} 0"#))

        // The month's report: JSON, CSV with a BOM, and the HTML page rendered by Chromium.
        let month = ReportMonth.current()
        let report = try CallEndToEndTests.json(
            try Self.admin(environment, "GET", "/admin/supervision?city=330100&month=\(month)"))
        let row = try #require(
            (report["departments"] as? [[String: Any]])?.first { $0["department"] as? String == "11330100MB1760012P" })
        #expect(row["received"] as? Int == 4)
        #expect(row["finished"] as? Int == 3)
        #expect(row["finishedWithinPromised"] as? Int == 3)
        #expect(row["open"] as? Int == 1)
        #expect((row["ratings"] as? [String: Int])?["very-dissatisfied"] == 1)
        #expect((row["ratings"] as? [String: Int])?["satisfied"] == 2)
        #expect(row["openFollowUps"] as? Int == 0)
        let csv = try Self.admin(environment, "GET", "/admin/supervision?city=330100&month=\(month)&format=csv")
        #expect(Array(csv.body.prefix(3)) == [0xEF, 0xBB, 0xBF])
        #expect(csv.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(
            try Self.admin(environment, "GET", "/admin/supervision?city=330100&month=2026-13").statusCode == 400)
        let html = try Self.admin(environment, "GET", "/admin/supervision?city=330100&month=\(month)&format=html")
        #expect(html.statusCode == 200)
        #expect(!html.text.contains("<script"))
        #expect(html.header("Content-Security-Policy") == "default-src 'none'; style-src 'unsafe-inline'")
        let page = ExternalProcess.packageRoot.appendingPathComponent(".build/supervision.html")
        try Data(html.body).write(to: page)
        let screenshot = ExternalProcess.packageRoot.appendingPathComponent(".build/supervision.png").path
        try? FileManager.default.removeItem(atPath: screenshot)
        let browser = try await ExternalProcess.run(
            "/usr/bin/timeout",
            [
                "60", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--window-size=1280,800", "--screenshot=\(screenshot)", page.absoluteString,
            ])
        #expect(browser.status == 0, "\(browser.standardError)")
        let size = ((try? FileManager.default.attributesOfItem(atPath: screenshot))?[.size] as? NSNumber)?.intValue ?? 0
        #expect(size > 10_000, "a rendered page, not a blank one (\(size) bytes)")
    }

    @Test
    func aReportAcknowledgedBeforeASigkillIsStillPushed() async throws {
        let port = try RawClient.unusedPort()
        let environment = try Environment(extraEdits: Self.edits(receiverPort: Int(port), maxDelayMilliseconds: 1_000))
        defer { environment.stop() }
        let token = try await Self.token(environment, partner: "wechat-city", citizen: Self.applicant)
        let number = try Self.apply(environment, partner: "wechat-city", token: token)
        // Nothing listens at the partner yet: the push cannot have gone out when the gateway dies.
        let response = try Self.report(environment, number: number, body: #"{"id":"k1","stage":"accepted"}"#)
        #expect(response.statusCode == 202, "\(response.text)")
        let victim = environment.gateway
        kill(victim.processIdentifier, SIGKILL)
        _ = victim.waitForExit()

        let receiver = try Receiver(port: Int(port))
        defer { receiver.stop() }
        let restarted = try GatewayProcess.start(manifests: environment.manifests, data: victim.dataDirectory)
        defer {
            restarted.terminate()
            _ = restarted.waitForExit()
        }
        let pushed = await eventually(timeout: .seconds(30)) {
            ((try? receiver.pushes()) ?? []).contains { Receiver.content($0)?["caseNumber"] as? String == number }
        }
        #expect(pushed, "the acknowledged report's push survived the SIGKILL: \((try? receiver.pushes()) ?? [])")
        #expect(try receiver.pushes().allSatisfy { $0["verified"] as? Bool == true })
    }
}

/// The current month in China Standard Time, as the report's `month` parameter writes it.
enum ReportMonth {
    static func current() -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM"
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        return formatter.string(from: Date())
    }
}
