import CityGate
import Cryptography
import Foundation
import TestSupport
import Testing

/// Tokens signed with SM2 (the private JWS algorithm `SM2SM3`): the JWS form (64-byte `r ‖ s`),
/// every refusal a signature algorithm needs, interop with gmssl both ways, and the gateway
/// binary issuing, publishing and accepting SM2-signed access tokens.
@Suite(.serialized)
struct SM2TokenTests {
    static let now: Int64 = 1_796_000_000
    static var claims: [String: Any] { ["sub": "c_1", "aud": "330100", "exp": now + 60] }

    static func keyFile(_ key: AsymmetricKey) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sm2-\(UUID().uuidString).pem").path
        try key.privateKeyPEM().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test
    func signsInTheJWSFormAndRefusesEveryOtherForm() throws {
        let key = try AsymmetricKey.generateSM2()
        let other = try AsymmetricKey.generateSM2()
        let token = try JSONWebToken.sign(
            claims: Self.claims, header: ["kid": "sm"], algorithm: .sm2sm3, key: .asymmetric(key))
        let parts = token.split(separator: ".").map(String.init)
        #expect(Encoding.base64Decode(parts[2], urlSafe: true)?.count == 64, "r ‖ s, 32 bytes each")
        let parsed = try JSONWebToken.verify(token, now: Self.now) { _, _ in .asymmetric(key) }
        #expect(parsed.algorithm == .sm2sm3)

        func refusal(_ token: String, key: JSONWebToken.Key) -> String? {
            do {
                _ = try JSONWebToken.verify(token, now: Self.now) { _, _ in key }
                return nil
            } catch { return error.reason }
        }
        #expect(refusal(token, key: .asymmetric(other)) == "bad-signature", "another SM2 key")
        let ed = try AsymmetricKey.generateEd25519()
        #expect(refusal(token, key: .asymmetric(ed)) == "unsupported-algorithm", "SM2SM3 never with an Ed25519 key")
        #expect(throws: JSONWebToken.Failure.self, "an Ed25519 key does not sign SM2SM3") {
            try JSONWebToken.sign(claims: Self.claims, algorithm: .sm2sm3, key: .asymmetric(ed))
        }
        let der = try key.sm2Sign(Array("\(parts[0]).\(parts[1])".utf8))
        let derToken = "\(parts[0]).\(parts[1]).\(Encoding.base64(der, urlSafe: true))"
        #expect(refusal(derToken, key: .asymmetric(key)) == "bad-signature", "a DER signature is not the JWS form")
        var flipped = Encoding.base64Decode(parts[2], urlSafe: true) ?? []
        flipped[10] ^= 1
        #expect(
            refusal("\(parts[0]).\(parts[1]).\(Encoding.base64(flipped, urlSafe: true))", key: .asymmetric(key))
                == "bad-signature")
        let edHeader = Encoding.base64(Array(#"{"alg":"EdDSA","kid":"sm"}"#.utf8), urlSafe: true)
        #expect(
            refusal("\(edHeader).\(parts[1]).\(parts[2])", key: .asymmetric(key)) == "unsupported-algorithm",
            "the header's algorithm must fit the SM2 key")
    }

    @Test
    func convertsBetweenDERAndFixedWidthSignatures() throws {
        let key = try AsymmetricKey.generateSM2()
        let data = Array("signed".utf8)
        for _ in 0..<20 {
            let der = try key.sm2Sign(data)
            let raw = try #require(ECSignatureForm.raw(fromDER: der))
            #expect(raw.count == 64)
            #expect(ECSignatureForm.der(fromRaw: raw) == der, "the round trip is exact (short r or s included)")
        }
        let der = try key.sm2Sign(data)
        #expect(ECSignatureForm.raw(fromDER: der + [0]) == nil, "trailing bytes")
        #expect(ECSignatureForm.raw(fromDER: Array(der.dropLast())) == nil, "truncated")
        #expect(ECSignatureForm.raw(fromDER: []) == nil)
        #expect(ECSignatureForm.der(fromRaw: [1, 2, 3]) == nil, "odd length")
        let point = try key.ecPublicPoint()
        #expect(point.count == 65 && point.first == 4, "uncompressed")
    }

    @Test
    func gmsslVerifiesOurTokensAndWeVerifyItsTokens() async throws {
        let key = try AsymmetricKey.generateSM2()
        let file = try Self.keyFile(key)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let ours = try JSONWebToken.sign(
            claims: Self.claims, header: ["kid": "sm"], algorithm: .sm2sm3, key: .asymmetric(key))
        let checked = try await Interop.run(["op": "sm2-jws-verify", "keyFile": file, "token": ours])
        #expect(checked["valid"] as? Bool == true, "\(checked)")
        #expect((checked["header"] as? [String: Any])?["alg"] as? String == "SM2SM3")

        let theirs = try await Interop.run([
            "op": "sm2-jws-sign", "keyFile": file, "header": ["alg": "SM2SM3", "kid": "sm"], "claims": Self.claims,
        ])
        let token = try #require(theirs["token"] as? String)
        let parsed = try JSONWebToken.verify(token, now: Self.now) { _, _ in .asymmetric(key) }
        #expect(parsed.string("aud") == "330100")
        let other = try AsymmetricKey.generateSM2()
        #expect(throws: JSONWebToken.Failure.self) {
            _ = try JSONWebToken.verify(token, now: Self.now) { _, _ in .asymmetric(other) }
        }
    }

    @Test
    func theGatewayIssuesPublishesAndAcceptsSM2Tokens() async throws {
        let key = try AsymmetricKey.generateSM2()
        let file = try Self.keyFile(key)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let environment = try CallEndToEndTests.Environment(extraEdits: [
            "gateway.json": { $0["tokens"] = ["signingKeys": [["id": "sm2-2026", "privateKey": "file:\(file)"]]] }
        ])
        defer { environment.stop() }
        let token = try OAuthEndToEndTests.citizenToken(environment)
        let header = try #require(
            Encoding.base64Decode(String(token.split(separator: ".")[0]), urlSafe: true).flatMap {
                try JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
            })
        #expect(header["alg"] as? String == "SM2SM3")
        #expect(header["kid"] as? String == "sm2-2026")
        let checked = try await Interop.run(["op": "sm2-jws-verify", "keyFile": file, "token": token])
        #expect(checked["valid"] as? Bool == true, "gmssl verifies the issued token: \(checked)")

        let jwks = try CallEndToEndTests.json(try environment.get("/.well-known/jwks.json"))
        let published = try #require((jwks["keys"] as? [[String: Any]])?.first { $0["kid"] as? String == "sm2-2026" })
        #expect(published["kty"] as? String == "EC" && published["crv"] as? String == "SM2")
        #expect(published["alg"] as? String == "SM2SM3")
        let point = try key.ecPublicPoint()
        #expect(published["x"] as? String == Encoding.base64(Array(point[1..<33]), urlSafe: true))
        #expect(published["y"] as? String == Encoding.base64(Array(point[33...]), urlSafe: true))

        let call = try OAuthEndToEndTests.call(environment, token: token)
        #expect(call.statusCode == 200, "the SM2-signed token is accepted: \(call.text)")
    }
}
