import CityGate
import Cryptography
import Foundation
import HTTPCore
import TestSupport
import Testing

/// Independent implementations from PyPI sign, CityGate verifies; CityGate signs, they verify.
struct InteropTests {
    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    @Test(arguments: ["standardwebhooks", "svix"])
    func standardWebhooksBothWays(library: String) async throws {
        let secretText = "whsec_" + Encoding.base64(try SecureBytes.random(count: 24))
        let secret = try #require(StandardWebhooksVerifier.decodeSecret(secretText))
        let body = "{\"event\":\"case.progress\",\"case\":\"330100-2026-000123\",\"stage\":\"审核中\"}"
        let now = Self.now
        let theirs = try await Interop.run([
            "op": "\(library)-sign", "secret": secretText, "id": "msg_interop_1", "timestamp": now, "body": body,
        ])
        let signature = try #require(theirs["signature"] as? String)
        let verifier = StandardWebhooksVerifier(secrets: [PartnerSecret(id: "k", bytes: secret)])
        let request = SignedRequest(
            method: "POST", path: "/v1/partners/webhooks-demo/events",
            headers: ["webhook-id": "msg_interop_1", "webhook-timestamp": "\(now)", "webhook-signature": signature],
            body: Array(body.utf8))
        #expect(try verifier.verify(request, now: now).replayKey == "msg_interop_1")

        let ours = try StandardWebhooksVerifier.sign(
            id: "msg_interop_2", timestamp: now, body: Array(body.utf8), secret: secret)
        let headers = ["webhook-id": "msg_interop_2", "webhook-timestamp": "\(now)", "webhook-signature": ours]
        let verdict = try await Interop.run([
            "op": "\(library)-verify", "secret": secretText, "headers": headers, "body": body,
        ])
        #expect(verdict["valid"] as? Bool == true, "\(verdict)")
        let tampered = try await Interop.run([
            "op": "\(library)-verify", "secret": secretText, "headers": headers, "body": body + " ",
        ])
        #expect(tampered["valid"] as? Bool == false)
    }

    @Test
    func wechatSignatureAndSafeModeBothWays() async throws {
        let token = "citygate-interop-token"
        let encodingAESKey = String(Encoding.base64(try SecureBytes.random(count: 32)).prefix(43))
        let aesKey = try #require(WeChatVerifier.decodeAESKey(encodingAESKey))
        let appId = "wx49f0ab532d5d035a"
        let timestamp = "\(Self.now)"
        let verifier = WeChatVerifier(tokens: [("t", token)], aesKey: aesKey, appId: appId)

        let theirSignature = try await Interop.run(["op": "wechat-signature", "parts": [token, timestamp, "nonce-1"]])
        #expect(theirSignature["signature"] as? String == WeChatVerifier.signature([token, timestamp, "nonce-1"]))
        let check = try await Interop.run([
            "op": "wechat-check", "token": token, "signature": WeChatVerifier.signature([token, timestamp, "nonce-2"]),
            "timestamp": timestamp, "nonce": "nonce-2",
        ])
        #expect(check["valid"] as? Bool == true)

        // wechatpy encrypts a push as the platform does; we verify msg_signature and decrypt.
        let message =
            "<xml><ToUserName><![CDATA[gh_city]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
        let envelope = try await Interop.run([
            "op": "wechat-encrypt", "token": token, "encodingAESKey": encodingAESKey, "appid": appId,
            "message": message, "nonce": "nonce-3", "timestamp": timestamp,
        ])
        let xml = try #require(envelope["xml"] as? String)
        let signature = try #require(SignatureHeaders.xmlElement("MsgSignature", in: xml))
        let request = SignedRequest(
            method: "POST", path: "/v1/partners/wechat-city/events",
            rawQuery: "msg_signature=\(signature)&timestamp=\(timestamp)&nonce=nonce-3&encrypt_type=aes",
            body: Array(xml.utf8))
        let verified = try verifier.verify(request, now: Self.now)
        #expect(String(decoding: verified.payload, as: UTF8.self) == message)

        // We encrypt a reply; wechatpy verifies and decrypts it.
        let encrypted = try WeChatVerifier.encrypt(
            Array("<xml><Content>ok</Content></xml>".utf8), aesKey: aesKey, appId: appId)
        let ourSignature = WeChatVerifier.signature([token, timestamp, "nonce-4", encrypted])
        let reply =
            "<xml><Encrypt><![CDATA[\(encrypted)]]></Encrypt><MsgSignature>\(ourSignature)</MsgSignature><TimeStamp>\(timestamp)</TimeStamp><Nonce>nonce-4</Nonce></xml>"
        let decrypted = try await Interop.run([
            "op": "wechat-decrypt", "token": token, "encodingAESKey": encodingAESKey, "appid": appId, "xml": reply,
            "signature": ourSignature, "timestamp": timestamp, "nonce": "nonce-4",
        ])
        #expect(decrypted["message"] as? String == "<xml><Content>ok</Content></xml>", "\(decrypted)")
    }

    @Test
    func wechatPayBothWays() async throws {
        let key = try AsymmetricKey.generateRSA()
        let apiV3Key = "0123456789abcdefghijklmnopqrstuv"
        let timestamp = "\(Self.now)"
        let resource = try await Interop.run([
            "op": "wechatpay-encrypt", "apiV3Key": apiV3Key, "nonce": "resnonce1234", "associatedData": "transaction",
            "plaintext": "{\"trade_state\":\"SUCCESS\"}",
        ])
        let ciphertext = try #require(resource["ciphertext"] as? String)
        let body =
            "{\"id\":\"EV-1\",\"resource\":{\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\"\(ciphertext)\",\"nonce\":\"resnonce1234\",\"associated_data\":\"transaction\"}}"
        let theirs = try await Interop.run([
            "op": "wechatpay-sign", "privateKey": try key.privateKeyPEM(), "timestamp": timestamp, "nonce": "n-interop",
            "body": body,
        ])
        let signature = try #require(theirs["signature"] as? String)
        let verifier = WeChatPayVerifier(
            platformKeys: ["ABC123": try AsymmetricKey(pem: try key.publicKeyPEM())], apiV3Key: Array(apiV3Key.utf8))
        let request = SignedRequest(
            method: "POST", path: "/e",
            headers: [
                "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": "n-interop", "Wechatpay-Signature": signature,
                "Wechatpay-Serial": "ABC123",
            ],
            body: Array(body.utf8))
        #expect(
            String(decoding: try verifier.verify(request, now: Self.now).payload, as: UTF8.self)
                == "{\"trade_state\":\"SUCCESS\"}")

        let ours = try WeChatPayVerifier.sign(
            timestamp: timestamp, nonce: "n-2", body: Array(body.utf8), privateKey: key)
        let verdict = try await Interop.run([
            "op": "wechatpay-verify", "publicKey": try key.publicKeyPEM(), "timestamp": timestamp, "nonce": "n-2",
            "body": body, "signature": ours,
        ])
        #expect(verdict["valid"] as? Bool == true)
        let sealed = try WeChatPayVerifier.encryptResource(
            Array("{\"refund\":1}".utf8), apiV3Key: Array(apiV3Key.utf8), nonce: "ournonce1234",
            associatedData: "refund")
        let opened = try await Interop.run([
            "op": "wechatpay-decrypt", "apiV3Key": apiV3Key, "nonce": "ournonce1234", "associatedData": "refund",
            "ciphertext": sealed,
        ])
        #expect(opened["plaintext"] as? String == "{\"refund\":1}")
    }

    /// The `sm2-sm3` scheme against `gmssl` (pure-Python SM2/SM3 from PyPI): a request gmssl
    /// signed verifies here, one the scheme signed verifies there, and a changed body fails both.
    @Test
    func sm2SM3BothWays() async throws {
        let key = try AsymmetricKey.generateSM2()
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("sm2-\(UUID().uuidString).pem")
        try key.privateKeyPEM().write(to: keyFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: keyFile) }
        let scheme = SM2SM3Scheme(keys: [
            SM2SM3Scheme.Key(
                id: "2026-12", publicKey: try AsymmetricKey(pem: try key.publicKeyPEM()), privateKey: key,
                userId: AsymmetricKey.defaultSM2UserId)
        ])
        let verifier = scheme.makeVerifier(window: 300)
        let now = Self.now
        let body = #"{"id":"evt_sm2_1","type":"case.progress","stage":"受理"}"#
        let path = "/v1/cities/330100/services/permit.application/apply"
        let canonical = GenericHMACVerifier.canonical(
            timestamp: "\(now)", method: "POST", path: path, rawQuery: "lang=zh", body: Array(body.utf8))

        let theirs = try await Interop.run([
            "op": "sm2-sign", "keyFile": keyFile.path, "message": Encoding.base64(canonical),
        ])
        let signature = try #require(theirs["signature"] as? String)
        var request = SignedRequest(
            method: "POST", path: path, rawQuery: "lang=zh",
            headers: ["X-Signature": "t=\(now),v1=\(signature),kid=2026-12"], body: Array(body.utf8))
        #expect(try verifier.verify(request, now: now).keyId == "2026-12")
        request.body += [0x20]
        #expect(throws: VerificationFailure.self) { try verifier.verify(request, now: now) }

        var ours = SignedRequest(method: "POST", path: path, rawQuery: "lang=zh", body: Array(body.utf8))
        try scheme.sign(&ours, keyId: nil, now: now, nonce: "n")
        let header = try #require(ours.headers["X-Signature"])
        let value = try #require(
            header.split(separator: ",").first { $0.hasPrefix("v1=") }.map { String($0.dropFirst(3)) })
        let verdict = try await Interop.run([
            "op": "sm2-verify", "keyFile": keyFile.path, "message": Encoding.base64(canonical), "signature": value,
        ])
        #expect(verdict["valid"] as? Bool == true, "\(verdict)")
        let tampered = try await Interop.run([
            "op": "sm2-verify", "keyFile": keyFile.path, "message": Encoding.base64(canonical + [0x20]),
            "signature": value,
        ])
        #expect(tampered["valid"] as? Bool == false)
    }

    @Test
    func alipayBothWays() async throws {
        let key = try AsymmetricKey.generateRSA()
        let parameters = [
            "notify_id": "ac05099524730693a8b330c5ecf72da9786", "notify_type": "trade_status_sync",
            "app_id": "2014072300007148",
            "charset": "utf-8", "out_trade_no": "330100-fine-88", "trade_status": "TRADE_SUCCESS",
            "total_amount": "200.00",
            "subject": "交通违法罚款 & 滞纳金", "notify_time": "2026-11-28 10:00:00",
        ]
        let theirs = try await Interop.run([
            "op": "alipay-notify", "privateKey": try key.privateKeyPEM(), "publicKey": try key.publicKeyPEM(),
            "parameters": parameters,
        ])
        let signed = try #require(theirs["parameters"] as? [String: String])
        let form = FormEncoding.encode(signed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        let verifier = AlipayVerifier(publicKeys: [("alipay", try AsymmetricKey(pem: try key.publicKeyPEM()))])
        let verified = try verifier.verify(SignedRequest(method: "POST", path: "/e", body: Array(form.utf8)), now: 0)
        #expect(verified.replayKey == "ac05099524730693a8b330c5ecf72da9786")

        let ours = try AlipayVerifier.signedForm(
            parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, privateKey: key)
        let decoded = try #require(FormEncoding.decode(ours))
        let verdict = try await Interop.run([
            "op": "alipay-verify", "privateKey": try key.privateKeyPEM(), "publicKey": try key.publicKeyPEM(),
            "parameters": decoded,
        ])
        #expect(verdict["valid"] as? Bool == true)
    }
}
