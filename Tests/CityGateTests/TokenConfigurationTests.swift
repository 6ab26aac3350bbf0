import Foundation
import Testing

@testable import CityGate

/// OAuth clients in partner files and `tokens` in gateway.json: every mistake reported as
/// `file: json-path: message`.
struct TokenConfigurationTests {
    typealias Edit = @Sendable (inout [String: Any]) -> Void

    static func client(_ change: @escaping @Sendable (inout [String: Any]) -> Void) -> Edit {
        { partner in
            var clients = partner["clients"] as? [[String: Any]] ?? []
            change(&clients[0])
            partner["clients"] = clients
        }
    }

    static let cases: [(String, [String: Edit], String)] = [
        (
            "secret written inline instead of hashed",
            ["partners/webhooks-demo.json": client { $0["secretHash"] = "client-plain-secret" }],
            "partners/webhooks-demo.json: $.clients[0].secretHash: must be pbkdf2-sha256$<iterations>$<salt>$<hash> (make one with citygate hash-secret)"
        ),
        (
            "scope no operation requires",
            ["partners/webhooks-demo.json": client { $0["scopes"] = ["halls.read", "dog.licence"] }],
            "partners/webhooks-demo.json: $.clients[0].scopes: no operation requires scope 'dog.licence'"
        ),
        (
            "client id used by two partners", ["partners/wechat-city.json": client { $0["id"] = "webhooks-demo-app" }],
            "partners/wechat-city.json: $.clients[0].id: client id 'webhooks-demo-app' is already used by partner 'webhooks-demo'"
        ),
        (
            "unknown client field", ["partners/webhooks-demo.json": client { $0["grants"] = ["password"] }],
            "partners/webhooks-demo.json: $.clients[0].grants: unknown field (allowed: assertionKeys, id, realNameSubject, scopes, secretHash)"
        ),
        (
            "unsafe client id", ["partners/webhooks-demo.json": client { $0["id"] = "app one" }],
            "partners/webhooks-demo.json: $.clients[0].id: may hold only letters, digits and - _ . (at most 64)"
        ),
        (
            "assertion algorithm unknown",
            [
                "partners/webhooks-demo.json": client {
                    $0["assertionKeys"] = [["id": "k", "alg": "none", "secret": "env:X"]]
                }
            ],
            "partners/webhooks-demo.json: $.clients[0].assertionKeys[0].alg: must be one of EdDSA, RS256, HS256, SM2SM3"
        ),
        (
            "assertion secret inline",
            [
                "partners/webhooks-demo.json": client {
                    $0["assertionKeys"] = [["id": "k", "alg": "HS256", "secret": "abc"]]
                }
            ],
            "partners/webhooks-demo.json: $.clients[0].assertionKeys[0].secret: must be an env: or file: reference, not an inline secret"
        ),
        (
            "RS256 with an Ed25519 key",
            [
                "partners/wechat-city.json": client {
                    $0["assertionKeys"] = [
                        ["id": "k", "alg": "RS256", "publicKey": "file:../../mocks/keys/wechat-city-assertion.pub"]
                    ]
                }
            ],
            "partners/wechat-city.json: $.clients[0].assertionKeys[0].publicKey: must resolve to a PEM RSA public key"
        ),
        (
            "token lifetime out of range", ["gateway.json": { $0["tokens"] = ["accessTokenSeconds": 5] }],
            "gateway.json: $.tokens.accessTokenSeconds: must be between 60 and 86400"
        ),
        (
            "issuer not a URL", ["gateway.json": { $0["tokens"] = ["issuer": "citygate"] }],
            "gateway.json: $.tokens.issuer: must be an http(s) URL without query, fragment or trailing slash"
        ),
        (
            "signing key not Ed25519",
            [
                "gateway.json": {
                    $0["tokens"] = [
                        "signingKeys": [["id": "a", "privateKey": "file:../mocks/keys/alipay-platform.key"]]
                    ]
                }
            ],
            "gateway.json: $.tokens.signingKeys[0].privateKey: must resolve to a PEM Ed25519 or SM2 private key"
        ),
        (
            "subject salt inline", ["gateway.json": { $0["tokens"] = ["subjectSalt": "salty"] }],
            "gateway.json: $.tokens.subjectSalt: must be an env: or file: reference, not an inline secret"
        ),
    ]

    @Test(arguments: cases)
    func reportsEachMistake(name: String, edits: [String: Edit], expected: String) throws {
        let problems = try ManifestSetTests.problems(edits)
        #expect(problems.contains(expected), "\(name): \(problems)")
    }

    @Test
    func configuredSigningKeysRotate() throws {
        let tree = try ManifestSetTests.brokenTree([
            "gateway.json": {
                $0["tokens"] = [
                    "issuer": "https://gateway.example.gov.cn",
                    "signingKeys": [["id": "2026-12", "privateKey": "file:../mocks/keys/wechat-city-assertion.key"]],
                ]
            }
        ])
        let set = try ManifestSet.load(directory: tree).get()
        #expect(set.tokens.issuer == "https://gateway.example.gov.cn")
        #expect(set.tokens.signingKeys.map(\.id) == ["2026-12"])
        #expect(set.client("wechat-city-app")?.assertionKeys.first?.algorithm == .edDSA)
        #expect(set.client("alipay-city-app")?.assertionKeys.first?.algorithm == .rs256)
    }
}
