import CityGate
import Foundation
import HTTPCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `citygate` binary itself: usage errors, start-up line, health on both listeners, and a
/// SIGTERM that drains an in-flight request and exits 0.
struct CommandLineTests {
    static var binary: String {
        // The test bundle sits next to the products in the build directory.
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        while !directory.path.isEmpty && directory.path != "/" {
            let candidate = directory.appendingPathComponent("citygate").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return ExternalProcess.packageRoot.appendingPathComponent(".build/debug/citygate").path
    }

    @Test(arguments: [
        ["serve", "--bogus"], ["serve", "--listen", "localhost:80"], ["serve", "--listen", "127.0.0.1"],
        ["serve", "--listen", "127.0.0.1:99999"], ["serve", "--ops", "[::1:80"], ["serve", "--listen"],
        ["serve", "--threads", "0"], ["launch"], [],
    ])
    func usageErrorsExitTwo(arguments: [String]) async throws {
        let result = try await ExternalProcess.run(Self.binary, arguments)
        #expect(result.status == 2)
        #expect(result.standardError.contains("usage: citygate serve"))
    }

    @Test(arguments: PartnerConfigurationTests.samplePartners)
    func signPrintsARequestTheGatewayVerifies(partnerId: String) async throws {
        let manifests = ExternalProcess.packageRoot.appendingPathComponent("manifests").path
        let body = partnerId == "alipay-city" ? "out_trade_no=330100-fine-88&total_amount=200.00" : "{\"ping\":1}"
        let result = try await ExternalProcess.run(
            Self.binary, ["sign", "--partner", partnerId, "--manifests", manifests, "--body", body, "--format", "json"])
        #expect(result.status == 0, "\(result.standardError)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let headers = Headers(((json["headers"] as? [[String]]) ?? []).map { ($0[0], $0[1]) })
        let query = json["query"] as? String ?? ""
        let request = SignedRequest(
            method: json["method"] as? String ?? "", path: json["path"] as? String ?? "",
            rawQuery: query.isEmpty ? nil : query,
            headers: headers, body: Array(Data(base64Encoded: json["body"] as? String ?? "") ?? Data()))
        let partner = try PartnerConfigurationTests.loadSample(partnerId)
        _ = try partner.makeVerifier().verify(request, now: Int64(Date().timeIntervalSince1970))
    }

    @Test
    func signRefusesUnknownPartnersAndPaths() async throws {
        let missing = try await ExternalProcess.run(
            Self.binary, ["sign", "--partner", "nobody", "--manifests", "/tmp"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("partners/nobody.json: $: cannot be read"))
        let traversal = try await ExternalProcess.run(Self.binary, ["sign", "--partner", "../etc/passwd"])
        #expect(traversal.status == 2)
    }

    @Test
    func sigintAlsoDrainsAndExitsZero() throws {
        let gateway = try GatewayProcess.start()
        let idle = try RawClient(port: gateway.publicPort)
        try idle.send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try idle.readResponse().statusCode == 200)
        kill(gateway.processIdentifier, SIGINT)
        #expect(gateway.waitForExit() == 0)
        #expect(idle.isClosedByPeer())
        #expect(gateway.output().contains("\"msg\":\"citygate draining\""))
    }

    /// A signal sent the moment the gateway says it listens is never lost (Dispatch signal
    /// sources, used before, registered asynchronously and dropped such a signal under load).
    @Test(arguments: [SIGINT, SIGTERM, SIGINT, SIGTERM, SIGINT])
    func aSignalRightAfterStartUpStillDrains(signal: Int32) throws {
        let gateway = try GatewayProcess.start()
        kill(gateway.processIdentifier, signal)
        #expect(gateway.waitForExit() == 0)
        #expect(gateway.output().contains("\"msg\":\"citygate stopped\""))
    }

    /// A shutdown never reloads (the reload loop's cancellation once passed for a SIGHUP and
    /// logged "manifests reloaded … trigger: SIGHUP" between "draining" and "stopped"), and the
    /// log names the signal that started it.
    @Test(arguments: [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")])
    func aShutdownNamesItsSignalAndNeverReloads(signal: Int32, name: String) throws {
        let gateway = try GatewayProcess.start()
        kill(gateway.processIdentifier, signal)
        #expect(gateway.waitForExit() == 0)
        let lines = gateway.output().split(separator: "\n")
        #expect(!lines.contains { $0.contains("manifests reloaded") || $0.contains("reload refused") })
        let draining = lines.first { $0.contains("\"msg\":\"citygate draining\"") } ?? ""
        #expect(draining.contains("\"signal\":\"\(name)\""), "\(draining)")
        #expect(lines.contains { $0.contains("\"msg\":\"citygate stopped\"") && $0.contains(name) })
    }

    /// SIGHUP still reloads, and says so.
    @Test
    func sighupReloads() async throws {
        let gateway = try GatewayProcess.start()
        kill(gateway.processIdentifier, SIGHUP)
        #expect(await eventually { gateway.output().contains("\"trigger\":\"SIGHUP\"") })
        gateway.terminate()
        #expect(gateway.waitForExit() == 0)
    }

    @Test
    func portInUseFailsToStart() async throws {
        let first = try GatewayProcess.start()
        let result = try await ExternalProcess.run(
            Self.binary, ["serve", "--listen", "127.0.0.1:\(first.publicPort)", "--ops", "127.0.0.1:0"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("Address already in use"))
        first.terminate()
        #expect(first.waitForExit() == 0)
    }

    @Test
    func servesHealthOnBothListenersAndDrainsOnSigterm() async throws {
        let gateway = try GatewayProcess.start()
        for port in [gateway.publicPort, gateway.opsPort] {
            let client = try RawClient(port: port)
            try client.send("GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n")
            let response = try client.readResponse()
            #expect(response.statusCode == 200)
            #expect(response.text.contains("\"ready\""))
        }
        // An upload in progress when SIGTERM arrives is still answered, with Connection: close.
        let uploading = try RawClient(port: gateway.publicPort)
        try uploading.send("POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhalf")
        try await Task.sleep(for: .milliseconds(100))
        gateway.terminate()
        try await Task.sleep(for: .milliseconds(200))
        try uploading.send("-rest")
        try uploading.send("!")
        let response = try uploading.readResponse()
        #expect(response.statusCode == 405)
        #expect(response.header("Connection") == "close")
        #expect(gateway.waitForExit() == 0)
        #expect(gateway.output().contains("\"msg\":\"citygate stopped\""))
    }
}

/// A `citygate serve` child process on ephemeral ports.
final class GatewayProcess: @unchecked Sendable {
    // @unchecked: used from one test at a time; Process is thread-safe for these calls.
    let process = Process()
    let outputFile: URL
    let publicPort: UInt16
    let opsPort: UInt16
    /// The gateway's data directory (SQLite store, generated token key).
    let dataDirectory: String

    private init(process: Process, outputFile: URL, publicPort: UInt16, opsPort: UInt16, dataDirectory: String) {
        self.outputFile = outputFile
        self.dataDirectory = dataDirectory
        self.publicPort = publicPort
        self.opsPort = opsPort
    }

    static func start(manifests: String? = nil, data existing: String? = nil, extra: [String] = []) throws
        -> GatewayProcess
    {
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "citygate-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        let data =
            existing
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("citygate-data-\(UUID().uuidString)").path
        let tree = manifests ?? ExternalProcess.packageRoot.appendingPathComponent("manifests").path
        process.arguments =
            [
                "serve", "--listen", "127.0.0.1:0", "--ops", "127.0.0.1:0", "--threads", "2", "--manifests", tree,
                "--data", data,
            ] + extra
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("citygate listening") }),
                let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let publicAddress = json["public"] as? String, let opsAddress = json["ops"] as? String,
                let publicPort = UInt16(publicAddress.split(separator: ":").last ?? ""),
                let opsPort = UInt16(opsAddress.split(separator: ":").last ?? "")
            {
                let gateway = GatewayProcess(
                    process: process, outputFile: outputFile, publicPort: publicPort, opsPort: opsPort,
                    dataDirectory: data)
                gateway.running = process
                return gateway
            }
            usleep(20_000)
        }
        process.terminate()
        throw RawClient.Failure(
            description: "citygate did not start: \((try? String(contentsOf: outputFile, encoding: .utf8)) ?? "")")
    }

    private var running: Process?

    func terminate() { running?.terminate() }

    /// The child's process id.
    var processIdentifier: Int32 { running?.processIdentifier ?? 0 }

    /// The exit status, or -1 if the child has not exited within `timeout` (it is then killed,
    /// so a gateway that fails to drain fails its test instead of hanging the suite).
    func waitForExit(timeout: TimeInterval = 30) -> Int32 {
        guard let running else { return -1 }
        let deadline = Date().addingTimeInterval(timeout)
        while running.isRunning && Date() < deadline { usleep(20_000) }
        guard !running.isRunning else {
            kill(running.processIdentifier, SIGKILL)
            running.waitUntilExit()
            return -1
        }
        return running.terminationStatus
    }

    func output() -> String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
}

/// `--help` / `-h` on every command prints the usage and exits 0 (it used to answer "--help
/// needs a value", exit 2); an unknown flag is named, with the usage, exit 2.
struct HelpTests {
    static var mockBackends: String {
        CommandLineTests.binary.replacingOccurrences(of: "/citygate", with: "/citygate-mock-backends")
    }

    @Test(arguments: [
        ["--help"], ["-h"], ["serve", "--help"], ["serve", "--listen", "127.0.0.1:0", "-h"], ["validate", "--help"],
        ["routes", "-h"], ["sign", "--help"], ["sign", "--partner", "-h"], ["hash-secret", "--help"],
        ["assertion", "--help"],
    ])
    func citygateHelpExitsZero(arguments: [String]) async throws {
        let result = try await ExternalProcess.run(CommandLineTests.binary, arguments)
        #expect(result.status == 0, "\(arguments): \(result.standardError)")
        #expect(result.standardOutput.contains("usage: citygate serve"))
        #expect(result.standardError.isEmpty)
    }

    @Test(arguments: [["--help"], ["-h"], ["--base-port", "0", "--help"]])
    func mockBackendsHelpExitsZero(arguments: [String]) async throws {
        let result = try await ExternalProcess.run(Self.mockBackends, arguments)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("usage: citygate-mock-backends"))
    }

    @Test(arguments: [
        (["sign", "--bogus", "x"], "unknown option '--bogus'"), (["validate", "--nope"], "unknown option '--nope'"),
        (["serve", "--bogus"], "unknown option '--bogus'"),
    ])
    func unknownFlagsAreNamedWithTheUsage(arguments: [String], message: String) async throws {
        let result = try await ExternalProcess.run(CommandLineTests.binary, arguments)
        #expect(result.status == 2)
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(result.standardError.contains("usage: citygate serve"))
    }

    @Test(arguments: [(["--bogus", "1"], "unknown option '--bogus'"), (["--base-port"], "--base-port needs a value")])
    func mockBackendsNameTheirMistakes(arguments: [String], message: String) async throws {
        let result = try await ExternalProcess.run(Self.mockBackends, arguments)
        #expect(result.status == 2)
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(result.standardError.contains("usage: citygate-mock-backends"))
    }
}

/// `citygate assertion`: a real-name assertion names a resident id, so a demo token exchange
/// (the one `make run` prints) cannot fail later on a malformed one.
struct AssertionCommandTests {
    static let manifests = ExternalProcess.packageRoot.appendingPathComponent("manifests").path

    @Test(
        arguments: [
            (["--subject", "33010619900101123X"], Int32(0)), (["--subject", "citizen-42", "--acr", "citizen"], 0),
            (["--subject", "demo-citizen-1"], 2), (["--subject", "330106199001011234"], 2),
        ] as [([String], Int32)])
    func realNameSubjectsMustBeResidentIds(extra: [String], status: Int32) async throws {
        let result = try await ExternalProcess.run(
            CommandLineTests.binary,
            ["assertion", "--partner", "webhooks-demo", "--city", "330100", "--manifests", Self.manifests] + extra)
        #expect(result.status == status, "\(result.standardError)")
        if status == 0 {
            #expect(result.standardOutput.split(separator: ".").count == 3, "a JWT")
        } else {
            #expect(result.standardError.contains("must be a valid 18-character resident id"))
        }
    }
}

/// `gateway.json` `listen`, `ops` and `dataDirectory` are what `citygate serve` uses unless a
/// flag says otherwise (they used to be read and thrown away).
@Suite(.serialized)
struct GatewayFileDefaultsTests {
    /// Starts `citygate serve` with `arguments`; returns the "citygate listening" line's fields.
    static func listening(_ arguments: [String]) throws -> (fields: [String: Any], process: Process) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("cg-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = ["serve", "--threads", "1"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("citygate listening") }),
                let fields = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            {
                return (fields, process)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw RawClient.Failure(
            description: "no listening line: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
    }

    @Test
    func gatewayJSONSetsTheDefaultsAndFlagsOverrideThem() throws {
        let publicPort = try RawClient.unusedPort()
        let opsPort = try RawClient.unusedPort()
        let tree = try ManifestSetTests.brokenTree([
            "gateway.json": { gateway in
                gateway["listen"] = "127.0.0.1:\(publicPort)"
                gateway["ops"] = "127.0.0.1:\(opsPort)"
                gateway["dataDirectory"] = "state/here"
            }
        ])
        let (fields, process) = try Self.listening(["--manifests", tree])
        #expect(fields["public"] as? String == "127.0.0.1:\(publicPort)")
        #expect(fields["ops"] as? String == "127.0.0.1:\(opsPort)")
        #expect(FileManager.default.fileExists(atPath: "\(tree)/state/here/gateway.db"), "relative to the tree")
        process.terminate()
        process.waitUntilExit()
        // Flags win.
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("cg-data-\(UUID().uuidString)").path
        let (overridden, second) = try Self.listening([
            "--manifests", tree, "--listen", "127.0.0.1:0", "--ops", "127.0.0.1:0", "--data", data,
        ])
        #expect(overridden["public"] as? String != "127.0.0.1:\(publicPort)")
        #expect(FileManager.default.fileExists(atPath: "\(data)/gateway.db"))
        second.terminate()
        second.waitUntilExit()
    }

    @Test
    func aMalformedListenAddressIsAConfigError() throws {
        let problems = try ManifestSetTests.problems([
            "gateway.json": { gateway in
                gateway["listen"] = "localhost:8080"
                gateway["dataDirectory"] = ""
            }
        ])
        #expect(
            problems.contains(
                "gateway.json: $.listen: must be HOST:PORT with a numeric host (127.0.0.1:8080, [::1]:8080)"))
        #expect(problems.contains("gateway.json: $.dataDirectory: must name a directory"))
    }
}
