import CityGate
import Foundation
import TestSupport
import Testing

/// Two gateway instances sharing their replay window on a real `redis-server` (#18, first
/// part): a signed request accepted by one is a replay on the other; Redis stopped mid-run makes
/// signed calls fail closed with 503 `state-unavailable` and `/readyz` say so; Redis started
/// again, the instances recover without a restart.
@Suite(.serialized)
struct SharedStateTests {
    /// Instances on one Redis: the environment's gateway (with the mocks) and `extra` more on
    /// the same tree, each with its own data directory.
    final class Cluster: @unchecked Sendable {
        // @unchecked: used by one test at a time.
        let environment: CallEndToEndTests.Environment
        let others: [GatewayProcess]

        init(
            _ redis: RedisServer, postgres: PostgresServer? = nil, extra: Int = 1,
            edits: [String: @Sendable (inout [String: Any]) -> Void] = [:], mockArguments: [String] = []
        ) throws {
            // The URLs as file: references, the way a city keeps them out of gateway.json.
            func reference(_ url: String, _ name: String) throws -> String {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "\(name)-url-\(UUID().uuidString)"
                ).path
                try "\(url)\n".write(toFile: path, atomically: true, encoding: .utf8)
                return "file:\(path)"
            }
            var state = ["redis": try reference(redis.url, "redis")]
            if let postgres { state["postgres"] = try reference(postgres.url, "postgres") }
            // Instances sharing state share their token keys, salt and issuer (load refuses
            // otherwise): one signing key and salt for the cluster.
            let salt = try reference("cluster-subject-salt-\(UUID().uuidString)", "salt")
            var all = edits
            let earlier = edits["gateway.json"]
            all["gateway.json"] = { [state] gateway in
                earlier?(&gateway)
                gateway["state"] = state
                var tokens = gateway["tokens"] as? [String: Any] ?? [:]
                tokens["issuer"] = tokens["issuer"] ?? "https://gateway.city.test"
                tokens["subjectSalt"] = tokens["subjectSalt"] ?? salt
                tokens["signingKeys"] =
                    tokens["signingKeys"] ?? [
                        ["id": "cluster-1", "privateKey": "file:../mocks/keys/wechat-city-assertion.key"]
                    ]
                gateway["tokens"] = tokens
            }
            environment = try CallEndToEndTests.Environment(extraEdits: all, mockArguments: mockArguments)
            var started: [GatewayProcess] = []
            do {
                for _ in 0..<extra { started.append(try GatewayProcess.start(manifests: environment.manifests)) }
            } catch {
                for gateway in started { gateway.terminate() }
                environment.stop()
                throw error
            }
            others = started
        }

        /// Every instance's public port, the environment's first.
        var ports: [UInt16] { [environment.gateway.publicPort] + others.map(\.publicPort) }

        func stop() {
            for other in others {
                other.terminate()
                _ = other.waitForExit()
            }
            environment.stop()
        }
    }

    static func signed(_ environment: CallEndToEndTests.Environment) throws -> SignedRequest {
        try RequestSigner(partner: try environment.partner("webhooks-demo")).sign(
            path: "/v1/cities/330100/services/service-hall.queue/status", body: Array(#"{"hall":"west-lake"}"#.utf8))
    }

    static func send(_ signed: SignedRequest, to port: UInt16) throws -> RawClient.Response {
        let client = try RawClient(port: port)
        var head = "POST \(signed.path) HTTP/1.1\r\nHost: gateway\r\nContent-Length: \(signed.body.count)\r\n"
        for field in signed.headers { head += "\(field.name): \(field.value)\r\n" }
        try client.send(Array((head + "\r\n").utf8) + signed.body)
        return try client.readResponse()
    }

    @Test
    func aRequestAcceptedByOneInstanceIsAReplayOnTheOther() async throws {
        let redis = try await RedisServer()
        defer { redis.stopNow() }
        let cluster = try Cluster(redis)
        defer { cluster.stop() }
        let environment = cluster.environment
        let second = try #require(cluster.others.first)
        let first = environment.gateway.publicPort
        for _ in 0..<5 {
            let request = try Self.signed(environment)
            let accepted = try Self.send(request, to: first)
            #expect(accepted.statusCode == 200, "\(accepted.text)")
            let replayed = try Self.send(request, to: second.publicPort)
            #expect(replayed.statusCode == 409, "\(replayed.text)")
            #expect(replayed.text.contains("replayed"))
            #expect(try Self.send(request, to: first).statusCode == 409, "and on the first instance too")
        }
        // The other way round.
        let request = try Self.signed(environment)
        #expect(try Self.send(request, to: second.publicPort).statusCode == 200)
        #expect(try Self.send(request, to: first).statusCode == 409)
    }

    @Test
    func withRedisGoneSignedCallsFailClosedAndRecoverWhenItReturns() async throws {
        let redis = try await RedisServer()
        defer { redis.stopNow() }
        let cluster = try Cluster(redis)
        defer { cluster.stop() }
        let environment = cluster.environment
        let second = try #require(cluster.others.first)
        let port = environment.gateway.publicPort
        #expect(try Self.send(try Self.signed(environment), to: port).statusCode == 200)
        try await redis.stop()
        let refused = try Self.send(try Self.signed(environment), to: port)
        #expect(refused.statusCode == 503, "\(refused.text)")
        #expect(refused.text.contains("state-unavailable"))
        #expect(refused.header("Retry-After") == "1")
        let ready = try RawClient(port: environment.gateway.opsPort)
        try ready.send("GET /readyz HTTP/1.1\r\nHost: ops\r\n\r\n")
        let readiness = try ready.readResponse()
        #expect(readiness.statusCode == 503 && readiness.text.contains("shared-state"), "\(readiness.text)")
        // Unsigned routes do not depend on Redis.
        #expect(try environment.get("/healthz").statusCode == 200)

        try await redis.start()
        let recovered = try await eventually(timeout: .seconds(5), every: .milliseconds(100)) {
            try Self.send(try Self.signed(environment), to: port).statusCode == 200
        }
        #expect(recovered, "the instance reconnects without a restart")
        let again = try Self.signed(environment)
        let otherRecovered = try await eventually(timeout: .seconds(5), every: .milliseconds(100)) {
            try Self.send(try Self.signed(environment), to: second.publicPort).statusCode == 200
        }
        #expect(otherRecovered, "so does the other")
        #expect(try Self.send(again, to: port).statusCode == 200)
        #expect(try Self.send(again, to: second.publicPort).statusCode == 409, "replays are shared again")
    }

    /// Redis behind Sentinel (`redis+sentinel://`): a planned switchover (the master demoted
    /// while it stays up, answering READONLY), then the new master stopped: both instances follow
    /// each promotion without a restart — signed calls fail closed (503) only in between — and
    /// the replay window is shared again on each new master.
    @Test
    func aSentinelFailoverIsFollowedWithoutARestart() async throws {
        let primary = try await RedisServer()
        defer { primary.stopNow() }
        let replica = try await RedisServer(.replica(of: primary.port))
        defer { replica.stopNow() }
        let sentinel = try await RedisServer(.sentinel(watching: primary.port, name: "citygate"))
        defer { sentinel.stopNow() }
        let cluster = try Cluster(sentinel)
        defer { cluster.stop() }
        let environment = cluster.environment
        let ports = cluster.ports
        // Each instance refuses signed calls (and fails /readyz) until a sentinel has named the
        // master: wait for both, not only the first.
        let served = try await eventually(timeout: .seconds(5), every: .milliseconds(50)) {
            try ports.allSatisfy { try Self.send(try Self.signed(environment), to: $0).statusCode == 200 }
        }
        #expect(served, "both instances found the master through the sentinel")
        let first = try Self.signed(environment)
        #expect(try Self.send(first, to: ports[0]).statusCode == 200)
        #expect(try Self.send(first, to: ports[1]).statusCode == 409)

        // A planned switchover: the replica promoted, the master demoted while it stays up
        // (its writes now answer READONLY).
        let cli = ExternalProcess.which("redis-cli") ?? "/usr/bin/redis-cli"
        let switchover = try await ExternalProcess.run(
            cli, ["-p", "\(sentinel.port)", "SENTINEL", "FAILOVER", "citygate"])
        #expect(switchover.standardOutput.contains("OK"), "\(switchover.standardOutput)\(switchover.standardError)")
        let switched = ContinuousClock.now
        // Until an instance has asked the sentinels again (every 500 ms) it may still write to
        // the old master, which stays writable until the sentinel demotes it: wait until both
        // logged the new master before checking that replays are shared.
        let outputs = [environment.gateway.output] + cluster.others.map { $0.output }
        let onReplica = try await eventually(timeout: .seconds(20), every: .milliseconds(100)) {
            try ports.allSatisfy { try Self.send(try Self.signed(environment), to: $0).statusCode == 200 }
                && outputs.allSatisfy { $0().contains("\"master\":\"127.0.0.1:\(replica.port)\"") }
        }
        #expect(onReplica, "both instances leave the demoted master for the promoted replica")
        print("sentinel switchover: calls served again \(ContinuousClock.now - switched) after it was asked for")
        let afterSwitch = try Self.signed(environment)
        #expect(try Self.send(afterSwitch, to: ports[0]).statusCode == 200)
        #expect(try Self.send(afterSwitch, to: ports[1]).statusCode == 409, "replays are shared on the new master")

        // The new master stopped: the old one, now its replica, is promoted back.
        let demoted = try await eventually(timeout: .seconds(15), every: .milliseconds(200)) {
            let role = try await ExternalProcess.run(cli, ["-p", "\(primary.port)", "ROLE"])
            return role.standardOutput.hasPrefix("slave") || role.standardOutput.hasPrefix("replica")
        }
        #expect(demoted, "the demoted master replicates the new one")
        try await replica.stop()
        let stopped = ContinuousClock.now
        let followed = try await eventually(timeout: .seconds(20), every: .milliseconds(100)) {
            try ports.allSatisfy { try Self.send(try Self.signed(environment), to: $0).statusCode == 200 }
        }
        #expect(followed, "both instances follow the promoted replica")
        print("sentinel failover: calls served again \(ContinuousClock.now - stopped) after the master stopped")
        let log = environment.gateway.output()
        #expect(log.contains("\"msg\":\"redis master\"") && log.contains("\"previous\":\"127.0.0.1:\(replica.port)\""))
        let after = try Self.signed(environment)
        #expect(try Self.send(after, to: ports[1]).statusCode == 200)
        #expect(try Self.send(after, to: ports[0]).statusCode == 409, "replays are shared on the new master")
    }

    /// A Redis that stops answering (paused, not gone) costs a call its 500 ms deadline, not
    /// more: the call is refused with 503 and the next ones recover once Redis answers again.
    @Test
    func aRedisThatStopsAnsweringFailsCallsAtTheDeadline() async throws {
        let redis = try await RedisServer()
        defer { redis.stopNow() }
        let cluster = try Cluster(redis, extra: 0)
        defer { cluster.stop() }
        let environment = cluster.environment
        let port = environment.gateway.publicPort
        #expect(try Self.send(try Self.signed(environment), to: port).statusCode == 200)
        let cli = ExternalProcess.which("redis-cli") ?? "/usr/bin/redis-cli"
        let pause = try await ExternalProcess.run(cli, ["-p", "\(redis.port)", "CLIENT", "PAUSE", "3000", "ALL"])
        #expect(pause.standardOutput.contains("OK"), "\(pause.standardError)")
        let started = ContinuousClock.now
        let refused = try Self.send(try Self.signed(environment), to: port)
        let waited = ContinuousClock.now - started
        #expect(refused.statusCode == 503 && refused.text.contains("state-unavailable"), "\(refused.text)")
        #expect(waited >= .milliseconds(400) && waited < .milliseconds(1500), "refused at the deadline: \(waited)")
        let recovered = try await eventually(timeout: .seconds(8), every: .milliseconds(200)) {
            try Self.send(try Self.signed(environment), to: port).statusCode == 200
        }
        #expect(recovered, "calls are served again once Redis answers")
    }

    /// Three instances, calls spread round-robin: a 100/s limit (burst 50) driven at 3× for 10 s
    /// admits within ±5 % of rate × time + burst across the three together, not three times it.
    @Test
    func aLimitHoldsAcrossThreeInstances() async throws {
        let redis = try await RedisServer()
        defer { redis.stopNow() }
        let cluster = try Cluster(
            redis, extra: 2,
            edits: [
                "services/service-hall.queue.json": {
                    $0["rateLimits"] = [["scope": "service", "limit": 100, "period": "1s", "burst": 50]]
                }
            ])
        defer { cluster.stop() }
        let environment = cluster.environment
        let ports = cluster.ports
        let partner = try environment.partner("webhooks-demo")
        let seconds = 10.0
        let started = Date()
        // One sender per instance at 100 calls/s: 300/s in all, three times the limit.
        let counts = try await withThrowingTaskGroup(of: [Int: Int].self) { group in
            for port in ports {
                group.addTask {
                    try await blocking {
                        var counts: [Int: Int] = [:]
                        var index = 0
                        while true {
                            let due = started.addingTimeInterval(Double(index) * 0.01)
                            if due.timeIntervalSince(started) >= seconds { break }
                            let wait = due.timeIntervalSinceNow
                            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                            let request = try RequestSigner(partner: partner).sign(
                                path: "/v1/cities/330100/services/service-hall.queue/status",
                                body: Array(#"{"hall":"west-lake"}"#.utf8))
                            counts[try Self.send(request, to: port).statusCode, default: 0] += 1
                            index += 1
                        }
                        return counts
                    }
                }
            }
            var total: [Int: Int] = [:]
            for try await counts in group { total.merge(counts, uniquingKeysWith: +) }
            return total
        }
        let elapsed = Date().timeIntervalSince(started)
        try await redis.stop()
        let admitted = counts[200, default: 0]
        let expected = 100 * elapsed + 51
        #expect(Set(counts.keys).isSubset(of: [200, 429]), "\(counts)")
        #expect(counts[429, default: 0] > 1000, "the limit refused the excess: \(counts)")
        #expect(
            abs(Double(admitted) - expected) <= expected * 0.05,
            "admitted \(admitted) in \(elapsed) s across three instances; expected \(expected) ± 5 %")
    }

    /// A reload told to one instance (`POST /admin/reload`, SIGHUP) reaches the others through
    /// Redis: each reloads its copy of the tree within about a second.
    @Test
    func aReloadToldToOneInstanceReachesTheOthers() async throws {
        let redis = try await RedisServer()
        defer { redis.stopNow() }
        let cluster = try Cluster(redis, extra: 2)
        defer { cluster.stop() }
        let environment = cluster.environment
        let ports = cluster.ports
        func answers(_ port: UInt16, _ name: String) -> Bool {
            (try? Self.send(try Self.signed(environment), to: port))?.text.contains("\"\(name)\"") == true
        }
        // The first reads of the generation have happened (they only learn where it is).
        try await Task.sleep(for: .milliseconds(1_500))
        try HotReloadTests.renameOutputField(in: environment.manifests, to: "queueLength")
        let told = Date()
        #expect(
            try HotReloadTests.admin(environment, "POST", "/admin/reload", token: HotReloadTests.token).statusCode
                == 200)
        #expect(answers(ports[0], "queueLength"), "the told instance at once")
        let followed = await eventually(timeout: .seconds(5), every: .milliseconds(50)) {
            answers(ports[1], "queueLength") && answers(ports[2], "queueLength")
        }
        #expect(followed, "the other instances reloaded")
        let seconds = Date().timeIntervalSince(told)
        // SIGHUP to the second instance: the first and third follow.
        let path = "\(environment.manifests)/services/service-hall.queue.json"
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
            of: "\"queueLength\"", with: "\"queueSize\""
        )
        .write(toFile: path, atomically: true, encoding: .utf8)
        let second = try #require(cluster.others.first)
        kill(second.processIdentifier, SIGHUP)
        let followedSighup = await eventually(timeout: .seconds(5), every: .milliseconds(50)) {
            ports.allSatisfy { answers($0, "queueSize") }
        }
        #expect(followedSighup, "a SIGHUP is announced too")
        #expect(environment.gateway.output().contains("\"trigger\":\"cluster\""))
        print("reload broadcast: the other instances followed in \(Int(seconds * 1000)) ms")
    }

    @Test
    func stateConfigurationProblemsNameTheField() throws {
        let cases: [([String: Any], String)] = [
            (
                ["postgres": "postgresql://citygate@127.0.0.1/postgres"],
                "gateway.json: $.state.postgres: must be an env: or file: reference"
            ),
            (["postgres": "env:CITYGATE_TEST_NO_SUCH_VARIABLE"], "gateway.json: $.state.postgres:"),
            (["redis": "redis://127.0.0.1:6379"], "gateway.json: $.state.redis: must be an env: or file: reference"),
            (["redis": "env:CITYGATE_TEST_NO_SUCH_VARIABLE"], "gateway.json: $.state.redis:"),
            (["memcached": "env:X"], "gateway.json: $.state.memcached: unknown field"),
            (["rateLimits": "sometimes"], "gateway.json: $.state.rateLimits: must be fail-open or fail-closed"),
        ]
        for (state, expected) in cases {
            let copy = state.mapValues { "\($0)" }
            let problems = try ManifestSetTests.problems(["gateway.json": { $0["state"] = copy }])
            #expect(problems.contains { $0.hasPrefix(expected) }, "\(expected): \(problems)")
        }
    }

    /// Instances that share state must share their tokens: without a shared issuer, signing key
    /// and subject salt, each would sign with a key of its own and refuse the others' tokens.
    @Test
    func sharedStateWithoutSharedTokenKeysIsRefused() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("redis-url-\(UUID().uuidString)")
        try "redis://127.0.0.1:6379\n".write(to: url, atomically: true, encoding: .utf8)
        let state = ["redis": "file:\(url.path)"]
        let refused = try ManifestSetTests.problems(["gateway.json": { $0["state"] = state }])
        for field in ["signingKeys", "subjectSalt", "issuer"] {
            #expect(
                refused.contains {
                    $0.hasPrefix("gateway.json: $.tokens.\(field): must be set when instances share state")
                },
                "\(field): \(refused)")
        }
        let accepted = try ManifestSetTests.problems([
            "gateway.json": { gateway in
                gateway["state"] = state
                gateway["tokens"] = [
                    "issuer": "https://gateway.city.test", "subjectSalt": "file:../mocks/keys/admin.token",
                    "signingKeys": [["id": "k", "privateKey": "file:../mocks/keys/wechat-city-assertion.key"]],
                ]
            }
        ])
        #expect(!accepted.contains { $0.contains("$.tokens") }, "\(accepted)")
    }
}
