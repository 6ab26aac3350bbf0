import CityGate
import Cryptography
import Foundation
import HTTPCore
import TestSupport
import Testing

struct WeChatVerifierTests {
    @Test
    func signatureVectors() throws {
        let vectors = try Vectors.load("wechat.json")
        for entry in vectors["signature"] as? [[String: String]] ?? [] {
            #expect(
                WeChatVerifier.signature([entry["token"] ?? "", entry["timestamp"] ?? "", entry["nonce"] ?? ""])
                    == entry["expected"])
        }
    }

    @Test
    func urlVerificationEchoesVerbatim() throws {
        let verifier = WeChatVerifier(tokens: [("t1", "AAAAA")])
        let query =
            "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&timestamp=1714036504&nonce=1514711492&echostr=5830371580748066453"
        let verified = try verifier.verify(
            SignedRequest(method: "GET", path: "/e", rawQuery: query), now: 1_714_036_504)
        #expect(verified.echo == "5830371580748066453")
        #expect(verified.replayKey == "1714036504:1514711492")
        let tampered = query.replacingOccurrences(of: "nonce=1514711492", with: "nonce=1514711493")
        expectFailure(.signatureMismatch) {
            try verifier.verify(SignedRequest(method: "GET", path: "/e", rawQuery: tampered), now: 1_714_036_504)
        }
        expectFailure(.timestampOutsideWindow) {
            try verifier.verify(SignedRequest(method: "GET", path: "/e", rawQuery: query), now: 1_714_036_805)
        }
    }

    @Test
    func safeModeVectorVerifiesAndDecrypts() throws {
        let vectors = try Vectors.load("wechat.json")
        let entry = try #require((vectors["safeModeDecrypt"] as? [[String: Any]])?.first)
        let aesKey = try #require(WeChatVerifier.decodeAESKey(entry["encodingAESKey"] as? String ?? ""))
        let verifier = WeChatVerifier(
            tokens: [("old", "rotated-out"), ("current", entry["token"] as? String ?? "")], aesKey: aesKey,
            appId: entry["appid"] as? String)
        let encrypt = entry["encrypt"] as? String ?? ""
        let body = Array(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[\(encrypt)]]></Encrypt></xml>".utf8)
        let query =
            "msg_signature=\(entry["msgSignature"] as? String ?? "")&timestamp=\(entry["timestamp"] as? String ?? "")&nonce=\(entry["nonce"] as? String ?? "")&encrypt_type=aes"
        let now = Int64(entry["timestamp"] as? String ?? "") ?? 0
        let verified = try verifier.verify(
            SignedRequest(method: "POST", path: "/e", rawQuery: query, body: body), now: now)
        #expect(verified.keyId == "current")
        let text = String(decoding: verified.payload, as: UTF8.self)
        for fragment in entry["plaintextContains"] as? [String] ?? [] { #expect(text.contains(fragment)) }

        let otherApp = WeChatVerifier(
            tokens: [("t", entry["token"] as? String ?? "")], aesKey: aesKey, appId: "wx0000000000000000")
        expectFailure(.decryptionFailed) {
            try otherApp.verify(SignedRequest(method: "POST", path: "/e", rawQuery: query, body: body), now: now)
        }
        let tamperedBody = Array(
            String(decoding: body, as: UTF8.self).replacingOccurrences(of: "RgqEoJj5", with: "RgqEoJj6").utf8)
        expectFailure(.signatureMismatch) {
            try verifier.verify(
                SignedRequest(method: "POST", path: "/e", rawQuery: query, body: tamperedBody), now: now)
        }
        expectFailure(.malformedBody) {
            try verifier.verify(
                SignedRequest(method: "POST", path: "/e", rawQuery: query, body: Array("<xml/>".utf8)), now: now)
        }
    }

    @Test
    func plainModePostIsRefusedOnceSafeModeIsConfigured() throws {
        let aesKey = try SecureBytes.random(count: 32)
        let now: Int64 = 1_714_036_504
        let query = FormEncoding.encode([
            ("timestamp", "\(now)"), ("nonce", "42"), ("signature", WeChatVerifier.signature(["tok", "\(now)", "42"])),
        ])
        let plain = SignedRequest(method: "POST", path: "/e", rawQuery: query, body: Array("<xml/>".utf8))
        #expect(try WeChatVerifier(tokens: [("t", "tok")]).verify(plain, now: now).keyId == "t")
        expectFailure(.missingSignature) {
            try WeChatVerifier(tokens: [("t", "tok")], aesKey: aesKey, appId: "wxapp").verify(plain, now: now)
        }
    }

    @Test
    func encryptRoundTrips() throws {
        let aesKey = try SecureBytes.random(count: 32)
        let encrypted = try WeChatVerifier.encrypt(Array("<xml>hello</xml>".utf8), aesKey: aesKey, appId: "wxapp")
        #expect(
            try WeChatVerifier(tokens: [], aesKey: aesKey, appId: "wxapp").decrypt(encrypted)
                == Array("<xml>hello</xml>".utf8))
    }
}

struct WeChatPayVerifierTests {
    static let key: AsymmetricKey? = try? AsymmetricKey.generateRSA()
    static let apiV3Key = Array("0123456789abcdef0123456789abcdef".utf8)

    static func request(
        body: [UInt8], timestamp: String = "1700000000", nonce: String = "n-1", serial: String = "5157F09E",
        signature: String? = nil
    ) throws -> SignedRequest {
        let key = try #require(key)
        let signature =
            try signature ?? WeChatPayVerifier.sign(timestamp: timestamp, nonce: nonce, body: body, privateKey: key)
        return SignedRequest(
            method: "POST", path: "/e",
            headers: [
                "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Signature": signature,
                "Wechatpay-Serial": serial,
            ],
            body: body)
    }

    static func notification() throws -> [UInt8] {
        let resource = try WeChatPayVerifier.encryptResource(
            Array("{\"out_trade_no\":\"330100-2026-1\",\"trade_state\":\"SUCCESS\"}".utf8), apiV3Key: apiV3Key,
            nonce: "fdasflkja484",
            associatedData: "transaction")
        return Array(
            "{\"id\":\"EV-2018022511223320873\",\"event_type\":\"TRANSACTION.SUCCESS\",\"resource\":{\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"\(resource)\",\"nonce\":\"fdasflkja484\",\"associated_data\":\"transaction\"}}"
                .utf8)
    }

    func verifier() throws -> WeChatPayVerifier {
        WeChatPayVerifier(platformKeys: ["5157f09e": try #require(Self.key)], apiV3Key: Self.apiV3Key)
    }

    @Test
    func verifiesAndDecryptsTheResource() throws {
        let verified = try verifier().verify(try Self.request(body: try Self.notification()), now: 1_700_000_000)
        #expect(String(decoding: verified.payload, as: UTF8.self).contains("\"trade_state\":\"SUCCESS\""))
        #expect(verified.keyId == "5157F09E")
        #expect(verified.replayKey == "n-1")
    }

    @Test
    func windowIsExclusiveAtThreeHundredSeconds() throws {
        let request = try Self.request(body: try Self.notification())
        _ = try verifier().verify(request, now: 1_700_000_299)
        _ = try verifier().verify(request, now: 1_699_999_701)
        expectFailure(.timestampOutsideWindow) { try verifier().verify(request, now: 1_700_000_300) }
        expectFailure(.timestampOutsideWindow) { try verifier().verify(request, now: 1_699_999_700) }
    }

    @Test
    func refusesTamperingUnknownSerialAndBadResources() throws {
        let body = try Self.notification()
        let good = try Self.request(body: body)
        var tampered = good
        tampered.body[tampered.body.count - 2] ^= 1
        expectFailure(.signatureMismatch) { try verifier().verify(tampered, now: 1_700_000_000) }
        var otherNonce = good
        otherNonce.headers.replaceOrAdd(name: "Wechatpay-Nonce", value: "n-2")
        expectFailure(.signatureMismatch) { try verifier().verify(otherNonce, now: 1_700_000_000) }
        expectFailure(.unknownKey) {
            try verifier().verify(try Self.request(body: body, serial: "DEADBEEF"), now: 1_700_000_000)
        }
        expectFailure(.malformedSignatureHeader) {
            try verifier().verify(try Self.request(body: body, signature: "%%%"), now: 1_700_000_000)
        }
        let wrongKey = WeChatPayVerifier(
            platformKeys: ["5157F09E": try #require(Self.key)], apiV3Key: Array("ffffffffffffffffffffffffffffffff".utf8)
        )
        expectFailure(.decryptionFailed) { try wrongKey.verify(good, now: 1_700_000_000) }
    }
}

struct AlipayVerifierTests {
    static let key: AsymmetricKey? = try? AsymmetricKey.generateRSA()
    static let parameters: [(String, String)] = [
        ("notify_time", "2026-11-28 10:00:00"), ("notify_type", "trade_status_sync"),
        ("notify_id", "ac05099524730693a8b330c5ecf72da9786"),
        ("app_id", "2014072300007148"), ("charset", "utf-8"), ("version", "1.0"), ("trade_no", "2026112822001"),
        ("out_trade_no", "330100-fine-88"), ("trade_status", "TRADE_SUCCESS"), ("total_amount", "200.00"),
        ("subject", "交通违法罚款"),
        ("passback_params", ""),
    ]

    func verifier() throws -> AlipayVerifier { AlipayVerifier(publicKeys: [("alipay-2026", try #require(Self.key))]) }
    func request(_ form: String) -> SignedRequest {
        SignedRequest(
            method: "POST", path: "/e", headers: ["Content-Type": "application/x-www-form-urlencoded"],
            body: Array(form.utf8))
    }

    @Test
    func verifiesSignedNotificationInAnyOrder() throws {
        let form = try AlipayVerifier.signedForm(Self.parameters, privateKey: try #require(Self.key))
        let verified = try verifier().verify(request(form), now: 0)
        #expect(verified.replayKey == "ac05099524730693a8b330c5ecf72da9786")
        let reversed = form.split(separator: "&").reversed().joined(separator: "&")
        _ = try verifier().verify(request(reversed), now: 0)
    }

    @Test
    func canonicalStringDropsSignTypeAndEmptyValues() {
        let canonical = AlipayVerifier.canonical([
            ("b", "2"), ("sign", "x"), ("a", "1"), ("sign_type", "RSA2"), ("c", ""),
        ])
        #expect(canonical == "a=1&b=2")
    }

    @Test
    func refusesTamperingAndMalformedNotifications() throws {
        let form = try AlipayVerifier.signedForm(Self.parameters, privateKey: try #require(Self.key))
        expectFailure(.signatureMismatch) {
            try verifier().verify(request(form.replacingOccurrences(of: "200.00", with: "2.00")), now: 0)
        }
        expectFailure(.malformedBody) { try verifier().verify(request(form + "&total_amount=1.00"), now: 0) }
        expectFailure(.malformedBody) {
            try verifier().verify(request(form.replacingOccurrences(of: "utf-8", with: "GBK")), now: 0)
        }
        expectFailure(.malformedSignatureHeader) {
            try verifier().verify(
                request(form.replacingOccurrences(of: "sign_type=RSA2", with: "sign_type=RSA")), now: 0)
        }
        expectFailure(.missingSignature) { try verifier().verify(request("notify_id=1&a=b"), now: 0) }
        expectFailure(.malformedBody) { try verifier().verify(request("a=%zz"), now: 0) }
        let otherKey = AlipayVerifier(publicKeys: [("other", try AsymmetricKey.generateRSA())])
        expectFailure(.signatureMismatch) { try otherKey.verify(request(form), now: 0) }
    }
}

/// An Alipay event is what the signature covers: `sign`, `sign_type` and empty values (which the
/// signature leaves out, so anyone could add or drop them) are not among its fields.
struct AlipayEventTests {
    @Test
    func unsignedParametersAreNotPartOfTheEvent() throws {
        let scheme = try AlipayScheme.fixture()
        var request = SignedRequest(method: "POST", path: "/e", body: try scheme.sampleEvent())
        try scheme.sign(&request, keyId: nil, now: 0, nonce: "n1")
        request.body += Array("&injected=".utf8)
        let verified = try scheme.makeVerifier(window: 300).verify(request, now: 0)
        let event = try scheme.readEvent(body: request.body, verified: verified)
        #expect(event.type == "citygate.test")
        #expect(event.fields["injected"] == nil)
        #expect(event.fields["sign"] == nil)
        #expect(event.fields["sign_type"] == nil)
        #expect(event.fields["out_trade_no"] as? String == "T1")
    }
}

struct GenericHMACVerifierTests {
    static let secret = PartnerSecret(id: "k-2026-11", bytes: Array("demo secret only for tests".utf8))

    func request(
        _ header: String, method: String = "POST", path: String = "/v1/cities/330100/services/s/op",
        query: String? = "lang=zh", body: String = "{\"year\":2026}"
    ) -> SignedRequest {
        SignedRequest(
            method: method, path: path, rawQuery: query, headers: ["X-Signature": header], body: Array(body.utf8))
    }

    func signed(_ timestamp: Int64 = 1_700_000_000) throws -> String {
        try GenericHMACVerifier.sign(
            timestamp: timestamp, method: "POST", path: "/v1/cities/330100/services/s/op", rawQuery: "lang=zh",
            body: Array("{\"year\":2026}".utf8), secret: Self.secret)
    }

    @Test
    func verifiesAndNamesTheKey() throws {
        let verified = try GenericHMACVerifier(secrets: [Self.secret]).verify(request(try signed()), now: 1_700_000_000)
        #expect(verified.keyId == "k-2026-11")
    }

    @Test
    func everySignedPartMatters() throws {
        let header = try signed()
        let verifier = GenericHMACVerifier(secrets: [Self.secret])
        for tampered in [
            request(header, method: "PUT"), request(header, path: "/v1/cities/440300/services/s/op"),
            request(header, query: "lang=en"),
            request(header, query: nil), request(header, body: "{\"year\":2025}"),
        ] {
            expectFailure(.signatureMismatch) { try verifier.verify(tampered, now: 1_700_000_000) }
        }
    }

    @Test(
        arguments: [
            ("", VerificationFailure.Reason.malformedSignatureHeader), ("t=1700000000", .malformedSignatureHeader),
            ("v1=00", .malformedSignatureHeader), ("t=1,t=2,v1=00", .malformedSignatureHeader),
            ("t=abc,v1=" + String(repeating: "0", count: 64), .malformedSignatureHeader),
            ("t=1700000000,v1=xyz", .malformedSignatureHeader),
            ("t=1700000000,v1=" + String(repeating: "0", count: 64), .signatureMismatch),
            ("t=1700000000,v1=" + String(repeating: "0", count: 64) + ",kid=unknown", .unknownKey),
            ("t=1700000301,v1=" + String(repeating: "0", count: 64), .timestampOutsideWindow),
            ("garbage", .malformedSignatureHeader), ("t=1700000000,,v1=00", .malformedSignatureHeader),
        ] as [(String, VerificationFailure.Reason)])
    func refusesMalformedHeaders(header: String, reason: VerificationFailure.Reason) {
        do {
            _ = try GenericHMACVerifier(secrets: [Self.secret]).verify(request(header), now: 1_700_000_000)
            Issue.record("expected \(reason)")
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test
    func missingHeader() {
        expectFailure(.missingSignature) {
            try GenericHMACVerifier(secrets: [Self.secret]).verify(SignedRequest(method: "GET", path: "/"), now: 0)
        }
    }
}

/// Expects `body` to fail verification for `reason` (details are checked where they matter).
func expectFailure<T>(
    _ reason: VerificationFailure.Reason, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> T
) {
    do {
        _ = try body()
        Issue.record("expected \(reason.rawValue), but verification passed", sourceLocation: sourceLocation)
    } catch let failure as VerificationFailure {
        #expect(failure.reason == reason, "\(failure)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(reason.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}
