import Cryptography
import Foundation
import Testing

@testable import CityGate

/// Compact JWS: three algorithms, each key only with its own algorithm, and every malformed
/// variant refused with a specific reason.
struct JSONWebTokenTests {
    static let now: Int64 = 1_796_000_000
    static let hmacSecret = Array("0123456789abcdef0123456789abcdef".utf8)
    static let edKey = try? AsymmetricKey.generateEd25519()
    static let rsaKey = try? AsymmetricKey.generateRSA()

    static func claims(_ extra: [String: Any] = [:]) -> [String: Any] {
        var claims: [String: Any] = ["sub": "c_1", "aud": "330100", "iat": now, "exp": now + 60]
        for (key, value) in extra { claims[key] = value }
        return claims
    }

    static func segment(_ object: [String: Any]) -> String {
        Encoding.base64(
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), urlSafe: true)
    }

    static func keys(_ keyId: String?, _ algorithm: JSONWebToken.Algorithm) -> JSONWebToken.Key? {
        switch keyId {
        case "hs": .secret(hmacSecret)
        case "ed": edKey.map { .asymmetric($0) }
        case "rs": rsaKey.map { .asymmetric($0) }
        default: nil
        }
    }

    @Test(arguments: [
        (JSONWebToken.Algorithm.hs256, "hs"), (.edDSA, "ed"), (.rs256, "rs"),
    ])
    func signsAndVerifiesEachAlgorithm(algorithm: JSONWebToken.Algorithm, kid: String) throws {
        let key = try #require(Self.keys(kid, algorithm))
        let token = try JSONWebToken.sign(claims: Self.claims(), header: ["kid": kid], algorithm: algorithm, key: key)
        let parsed = try JSONWebToken.verify(token, now: Self.now, key: Self.keys)
        #expect(parsed.algorithm == algorithm)
        #expect(parsed.keyId == kid)
        #expect(parsed.string("aud") == "330100")
        #expect(parsed.seconds("exp") == Self.now + 60)
    }

    static func signed(_ claims: [String: Any] = JSONWebTokenTests.claims(), kid: String = "ed") -> String {
        (try? JSONWebToken.sign(
            claims: claims, header: ["kid": kid], algorithm: kid == "hs" ? .hs256 : kid == "rs" ? .rs256 : .edDSA,
            key: keys(kid, .edDSA) ?? .secret([])))
            ?? ""
    }

    /// Every way a token can be wrong, and the reason it must be refused with.
    static let malformed: [(String, String, String)] = {
        let good = signed()
        let parts = good.split(separator: ".").map(String.init)
        let noneHeader = segment(["alg": "none"])
        let tamperedClaims = segment(claims(["aud": "440300"]))
        // The RSA public key's PEM used as an HMAC secret: the key-confusion attack.
        let rsaPEM = (try? rsaKey?.publicKeyPEM()) ?? ""
        let confused =
            (try? JSONWebToken.sign(
                claims: claims(), header: ["kid": "rs"], algorithm: .hs256, key: .secret(Array(rsaPEM.utf8))))
            ?? ""
        return [
            ("alg none, empty signature", noneHeader + "." + parts[1] + ".", "malformed"),
            ("alg none, any signature", noneHeader + "." + parts[1] + "." + parts[2], "unsupported-algorithm"),
            (
                "alg HS512", segment(["alg": "HS512", "kid": "hs"]) + "." + parts[1] + "." + parts[2],
                "unsupported-algorithm"
            ),
            ("no alg", segment(["kid": "ed"]) + "." + parts[1] + "." + parts[2], "unsupported-algorithm"),
            (
                "crit extension",
                segment(["alg": "EdDSA", "kid": "ed", "crit": ["exp"]]) + "." + parts[1] + "." + parts[2],
                "unsupported-algorithm"
            ),
            ("HS256 with an RSA key's PEM (key confusion)", confused, "unsupported-algorithm"),
            ("claims changed", parts[0] + "." + tamperedClaims + "." + parts[2], "bad-signature"),
            (
                "signature of another token",
                parts[0] + "." + parts[1] + "." + signed(claims(["sub": "c_2"])).split(separator: ".")[2],
                "bad-signature"
            ),
            (
                "unknown kid",
                signed(kid: "ed").replacingOccurrences(of: parts[0], with: segment(["alg": "EdDSA", "kid": "zz"])),
                "unknown-key"
            ),
            ("kid not a string", segment(["alg": "EdDSA", "kid": 7]) + "." + parts[1] + "." + parts[2], "malformed"),
            ("two parts", parts[0] + "." + parts[1], "malformed"),
            ("four parts", good + ".x", "malformed"),
            ("empty", "", "malformed"),
            ("padded base64", parts[0] + "=." + parts[1] + "." + parts[2], "malformed"),
            ("standard base64 alphabet", parts[0] + "." + parts[1] + "+/." + parts[2], "malformed"),
            (
                "header not JSON", Encoding.base64(Array("alg".utf8), urlSafe: true) + "." + parts[1] + "." + parts[2],
                "malformed"
            ),
            (
                "header a JSON array",
                Encoding.base64(Array("[1]".utf8), urlSafe: true) + "." + parts[1] + "." + parts[2], "malformed"
            ),
            (
                "claims a JSON string",
                parts[0] + "." + Encoding.base64(Array("\"x\"".utf8), urlSafe: true) + "." + parts[2], "malformed"
            ),
            ("too long", parts[0] + "." + String(repeating: "A", count: 9000) + "." + parts[2], "malformed"),
            ("expired", signed(claims(["exp": now - 31])), "expired"),
            ("no exp", signed(["sub": "c_1"]), "claims"),
            ("exp a string", signed(claims(["exp": "\(now + 60)"])), "claims"),
            ("exp a boolean", signed(claims(["exp": true])), "claims"),
            ("nbf in the future", signed(claims(["nbf": now + 31])), "not-yet-valid"),
            ("iat in the future", signed(claims(["iat": now + 31])), "not-yet-valid"),
        ]
    }()

    @Test(arguments: malformed)
    func refusesMalformedTokens(name: String, token: String, reason: String) {
        #expect(throws: JSONWebToken.Failure.self, "\(name)") {
            try JSONWebToken.verify(token, now: Self.now, key: Self.keys)
        }
        do {
            _ = try JSONWebToken.verify(token, now: Self.now, key: Self.keys)
        } catch {
            #expect(error.reason == reason, "\(name): \(error.message)")
            #expect(!error.message.contains(token.prefix(20)) || token.isEmpty, "the message never echoes the token")
        }
    }

    @Test
    func leewayCoversSmallClockDifferences() throws {
        #expect(throws: Never.self) {
            try JSONWebToken.verify(Self.signed(Self.claims(["exp": Self.now - 30])), now: Self.now, key: Self.keys)
        }
        #expect(throws: JSONWebToken.Failure.self) {
            try JSONWebToken.verify(
                Self.signed(Self.claims(["exp": Self.now - 1])), now: Self.now, leeway: 0, key: Self.keys)
        }
    }

    @Test
    func shortHMACSecretsAreRefused() {
        #expect(throws: JSONWebToken.Failure.self) {
            try JSONWebToken.sign(claims: Self.claims(), algorithm: .hs256, key: .secret(Array("short".utf8)))
        }
    }
}

/// PBKDF2 client-secret hashes.
struct PasswordHashTests {
    // RFC 7914 §11 test vector for PBKDF2-HMAC-SHA256 (P = "passwd", S = "salt", c = 1, dkLen = 64).
    @Test
    func matchesTheRFC7914Vector() throws {
        let output = try PasswordHash.pbkdf2SHA256(
            password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
        #expect(
            Encoding.hex(output)
                == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        )
    }

    @Test
    func hashesVerifyTheirSecretOnly() throws {
        let text = try PasswordHash.make(secret: "client-secret-0123456789", iterations: 1_000)
        let stored = try #require(PasswordHash.Stored(text))
        #expect(stored.matches("client-secret-0123456789"))
        #expect(!stored.matches("client-secret-0123456788"))
        #expect(!stored.matches(""))
        #expect(
            try PasswordHash.make(secret: "same", iterations: 1_000)
                != PasswordHash.make(secret: "same", iterations: 1_000))
    }

    @Test(arguments: [
        "", "pbkdf2-sha256", "pbkdf2-sha1$20000$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",
        "pbkdf2-sha256$999$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",
        "pbkdf2-sha256$x$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",
        "pbkdf2-sha256$20000$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "pbkdf2-sha256$20000$c2FsdHNhbHQ=$aGFzaA==",
        "pbkdf2-sha256$20000$!!!$aGFzaGhhc2hoYXNoaGFzaA==",
        "pbkdf2-sha256$20000$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==$x",
        "plain-secret-written-inline",
    ])
    func refusesMalformedHashes(text: String) {
        #expect(PasswordHash.Stored(text) == nil, "\(text)")
    }
}
