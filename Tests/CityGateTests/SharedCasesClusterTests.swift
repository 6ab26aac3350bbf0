import CityGate
import Foundation
import TestSupport
import Testing

/// Cases shared by three instances on one PostgreSQL (#18): applied for through A, progress
/// reported through B (pushed to the partner from the shared inbox), viewed through C, rated
/// through A (a poor rating opens a follow-up), the follow-up closed through C, and the month's
/// supervision report on B counts all of it.
@Suite(.serialized)
struct SharedCasesClusterTests {
    typealias Cases = CaseEndToEndTests
    typealias Instance = SharedTokensClusterTests.Instance

    static func send(_ request: SignedRequest, to instance: Instance) throws -> RawClient.Response {
        try SharedStateTests.send(request, to: instance.publicPort)
    }

    @Test
    func aCaseOpenedOnOneInstanceIsFollowedRatedAndReportedOnTheOthers() async throws {
        let servers = try await SharedServers()
        defer { servers.stopNow() }
        let (redis, postgres) = (servers.redis, servers.postgres)
        let receiver = try Cases.Receiver()
        defer { receiver.stop() }
        let cluster = try SharedStateTests.Cluster(
            redis, postgres: postgres, extra: 2, edits: Cases.edits(receiverPort: receiver.port))
        defer { cluster.stop() }
        let environment = cluster.environment
        let all = SharedTokensClusterTests.instances(cluster)
        let (a, b, c) = (all[0], all[1], all[2])
        let partner = try environment.partner("webhooks-demo")
        let token = try #require(
            try SharedTokensClusterTests.exchange(a, citizen: Cases.applicant)["access_token"] as? String)
        func signed(_ method: String = "POST", _ path: String, _ json: String) throws -> SignedRequest {
            var request = try RequestSigner(partner: partner).sign(method: method, path: path, body: Array(json.utf8))
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            return request
        }

        // Applied for through A.
        let applied = try Self.send(
            try signed(
                "POST", "/v1/cities/330100/services/permit.application/apply",
                #"{"applicant":{"name":"张三","idNumber":"\#(Cases.applicant)","phone":"13800138000"},"location":"西湖区文三路 100 号","from":"2026-12-10","to":"2026-12-12"}"#
            ), to: a)
        #expect(applied.statusCode == 200, "\(applied.text)")
        let number = try #require(try CallEndToEndTests.json(applied)["caseNumber"] as? String)

        // Progress through B and C, as the approvals backend.
        let manifests = try ManifestSet.load(directory: environment.manifests).get()
        let reporter = try #require(manifests.progressReporter(city: "330100", backend: "approvals"))
        let now = Int64(Date().timeIntervalSince1970)
        func at(_ offset: Int64) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(now - 600 + offset)))
        }
        for (instance, body) in [
            (b, #"{"id":"e1","stage":"accepted","at":"\#(at(0))","note":"材料齐全"}"#),
            (c, #"{"id":"e2","stage":"finished","at":"\#(at(60))","note":"准予许可"}"#),
            (a, #"{"id":"e1","stage":"accepted","at":"\#(at(0))","note":"材料齐全"}"#),
        ] {
            let report = try RequestSigner(partner: reporter).sign(
                path: "/v1/cities/330100/backends/approvals/cases/\(number)/events", body: Array(body.utf8))
            let answer = try Self.send(report, to: instance)
            #expect(answer.statusCode == 202, "\(answer.text)")
        }
        let pushed = await eventually(timeout: .seconds(20)) {
            ((try? receiver.pushes()) ?? []).filter { Cases.Receiver.content($0)?["caseNumber"] as? String == number }
                .count >= 2
        }
        #expect(pushed, "both reports pushed to the partner, the retried one not again")

        // Viewed through C: the history from A's and B's records.
        let view = try Self.send(try signed("GET", "/v1/cities/330100/cases/\(number)", ""), to: c)
        #expect(view.statusCode == 200, "\(view.text)")
        let object = try CallEndToEndTests.json(view)
        #expect(object["stage"] as? String == "finished")
        #expect((object["history"] as? [[String: Any]])?.map { $0["stage"] as? String } == ["accepted", "finished"])

        // Rated through A (poorly: a follow-up opens), then the same case cannot be rated on B.
        let rated = try Self.send(
            try signed("POST", "/v1/cities/330100/cases/\(number)/rating", #"{"level":"very-dissatisfied"}"#), to: a)
        #expect(rated.statusCode == 201, "\(rated.text)")
        let again = try Self.send(
            try signed("POST", "/v1/cities/330100/cases/\(number)/rating", #"{"level":"satisfied"}"#), to: b)
        #expect(again.statusCode == 409, "\(again.text)")
        let followUps = try CallEndToEndTests.json(
            try SharedTokensClusterTests.admin(c, "GET", "/admin/followups?city=330100"))
        let followUp = try #require((followUps["followUps"] as? [[String: Any]])?.first)
        #expect(followUp["caseNumber"] as? String == number)
        let id = try #require(followUp["id"] as? Int)
        let closed = try SharedTokensClusterTests.admin(
            c, "POST", "/admin/followups/\(id)/close", body: #"{"note":"已电话回访并整改"}"#)
        #expect(closed.statusCode == 200, "\(closed.text)")

        // The month's supervision report, on B, counts what A, B and C recorded.
        let report = try CallEndToEndTests.json(
            try SharedTokensClusterTests.admin(
                b, "GET", "/admin/supervision?city=330100&month=\(ReportMonth.current())"))
        let row = try #require(
            (report["departments"] as? [[String: Any]])?.first { $0["department"] as? String == "11330100MB1760012P" })
        #expect(row["received"] as? Int == 1)
        #expect(row["finished"] as? Int == 1)
        #expect((row["ratings"] as? [String: Int])?["very-dissatisfied"] == 1)
        #expect(row["openFollowUps"] as? Int == 0)
    }
}
