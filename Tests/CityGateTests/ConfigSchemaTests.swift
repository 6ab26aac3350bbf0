import Foundation
import TestSupport
import Testing

@testable import CityGate

/// The JSON Schemas under docs/schema (what editors validate manifests with as they are typed)
/// and `citygate validate` agree: every sample file validates against its schema with the
/// `jsonschema` package from PyPI, and every structural mistake of the broken-tree corpus is
/// refused by both, in the same file.
@Suite(.serialized)
struct ConfigSchemaTests {
    typealias Edit = @Sendable (inout [String: Any]) -> Void

    static func schema(for file: String) -> String {
        let kind =
            file == "gateway.json"
            ? "gateway" : file.hasPrefix("cities/") ? "city" : file.hasPrefix("partners/") ? "partner" : "service"
        return ExternalProcess.packageRoot.appendingPathComponent("docs/schema/\(kind).schema.json").path
    }

    /// Mistakes JSON Schema can see (cross-file references are `citygate validate`'s alone).
    static let corpus: [(String, String, Edit)] = [
        ("unknown gateway field", "gateway.json", { $0["listner"] = "127.0.0.1:1" }),
        ("listen not numeric", "gateway.json", { $0["listen"] = "localhost:8080" }),
        ("admin token inline", "gateway.json", { $0["adminToken"] = "s3cret-s3cret-s3cret" }),
        ("audit hash unknown", "gateway.json", { $0["audit"] = ["hash": "md5"] }),
        ("tls without key", "gateway.json", { $0["tls"] = ["certificate": "file:c.pem"] }),
        ("city code short", "cities/440300.json", { $0["code"] = "44030" }),
        (
            "backend field unknown", "cities/440300.json",
            { city in
                var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                backends["hrss"]?["timeout"] = 3
                city["backends"] = backends
            }
        ),
        (
            "backend not http", "cities/440300.json",
            { city in
                var backends = city["backends"] as? [String: [String: Any]] ?? [:]
                backends["hrss"]?["baseURL"] = "ftp://127.0.0.1"
                city["backends"] = backends
            }
        ),
        (
            "cutoff not a time", "cities/440300.json",
            { city in
                var calendar = city["calendar"] as? [String: Any] ?? [:]
                calendar["cutoff"] = "5pm"
                city["calendar"] = calendar
            }
        ),
        (
            "rate limit scope", "cities/440300.json",
            { $0["rateLimits"] = [["scope": "moon", "limit": 1, "period": "1s"]] }
        ),
        (
            "credential kind", "cities/330100.json",
            { city in
                var credentials = city["credentials"] as? [String: [String: Any]] ?? [:]
                credentials["traffic-api-key"]?["type"] = "magic"
                city["credentials"] = credentials
            }
        ),
        ("scheme unknown", "partners/hmac-demo.json", { $0["scheme"] = "rot13" }),
        ("no keys", "partners/hmac-demo.json", { $0["keys"] = [] as [Any] }),
        ("clock skew zero", "partners/hmac-demo.json", { $0["clockSkewSeconds"] = 0 }),
        ("city code letters", "partners/hmac-demo.json", { $0["cities"] = ["ABCDEF"] }),
        ("pin malformed", "partners/hmac-demo.json", { $0["clientCertificates"] = [["spkiSha256": "abc"]] }),
        ("version not semver", "services/service-hall.queue.json", { $0["version"] = "1" }),
        ("auth level unknown", "services/service-hall.queue.json", { $0["authLevel"] = "admin" }),
        (
            "department code short", "services/service-hall.queue.json",
            { $0["department"] = ["code": "123", "name": "d"] }
        ),
        (
            "method unknown", "services/service-hall.queue.json",
            { service in
                Self.editOperation(&service, "status") { $0["request"] = ["method": "FETCH", "path": "/"] }
            }
        ),
        (
            "error key not a status", "services/service-hall.queue.json",
            { service in
                Self.editOperation(&service, "status") { operation in
                    var response = operation["response"] as? [String: Any] ?? [:]
                    response["errors"] = ["200": "fine"]
                    operation["response"] = response
                }
            }
        ),
        (
            "recipe type", "services/housing-fund.account.json",
            { service in
                Self.editOperation(&service, "query") { operation in
                    var response = operation["response"] as? [String: Any] ?? [:]
                    var fields = response["fields"] as? [String: Any] ?? [:]
                    fields["balance"] = ["path": "$.Account.Balance", "type": "float"]
                    response["fields"] = fields
                    operation["response"] = response
                }
            }
        ),
        (
            "soap version", "services/housing-fund.account.json",
            { service in
                Self.editOperation(&service, "query") { operation in
                    var request = operation["request"] as? [String: Any] ?? [:]
                    request["soap"] = ["version": "2.0"]
                    operation["request"] = request
                }
            }
        ),
        (
            "inline WS-Security password", "services/housing-fund.account.json",
            { service in
                Self.editOperation(&service, "query") { operation in
                    var request = operation["request"] as? [String: Any] ?? [:]
                    request["soap"] = ["security": ["username": "{secret.gjj-ws-user}", "password": "hunter2"]]
                    operation["request"] = request
                }
            }
        ),
    ]

    static func editOperation(_ service: inout [String: Any], _ name: String, _ edit: (inout [String: Any]) -> Void) {
        var operations = service["operations"] as? [String: [String: Any]] ?? [:]
        if var operation = operations[name] {
            edit(&operation)
            operations[name] = operation
        }
        service["operations"] = operations
    }

    @Test
    func theSamplesValidateAndBothRefuseEveryMistakeInTheSameFile() async throws {
        let sample = ManifestSetTests.sample.path
        let sampleFiles =
            ["gateway.json"]
            + ["cities", "partners", "services"].flatMap { folder in
                ((try? FileManager.default.contentsOfDirectory(atPath: "\(sample)/\(folder)")) ?? []).sorted().map {
                    "\(folder)/\($0)"
                }
            }
        var files: [[String]] = sampleFiles.map { ["\(sample)/\($0)", Self.schema(for: $0)] }
        var trees: [(name: String, file: String, tree: String)] = []
        for (name, file, edit) in Self.corpus {
            let tree = try ManifestSetTests.brokenTree([file: edit])
            trees.append((name, file, tree))
            files.append(["\(tree)/\(file)", Self.schema(for: file)])
        }
        let result = try await Interop.run(["op": "validate-config", "files": files], script: "contracts.py")
        let verdicts = try #require(result["results"] as? [String: [String]], "\(result)")
        for file in sampleFiles {
            #expect(verdicts["\(sample)/\(file)"] == [], "the sample \(file) validates against its schema")
        }
        #expect(sampleFiles.count == 16, "gateway.json, 3 cities, 5 partners, 7 services: \(sampleFiles)")
        for (name, file, tree) in trees {
            let schemaErrors = verdicts["\(tree)/\(file)"] ?? []
            #expect(!schemaErrors.isEmpty, "\(name): jsonschema accepted what citygate validate refuses")
            switch ManifestSet.load(directory: tree, environment: [:]) {
            case .success: Issue.record("\(name): citygate validate accepted what the schema refuses")
            case .failure(let problems):
                #expect(problems.problems.contains { $0.file == file }, "\(name): \(problems)")
            }
        }
    }
}
