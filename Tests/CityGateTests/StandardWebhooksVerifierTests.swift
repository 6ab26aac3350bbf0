import CityGate
import Cryptography
import HTTPCore
import TestSupport
import Testing

struct StandardWebhooksVerifierTests {
    static let secretText = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1_614_265_330
    static let body = Array("{\"test\": 2432232314}".utf8)

    static func verifier(_ secrets: [String] = [secretText], publicKeys: [(id: String, key: AsymmetricKey)] = [])
        -> StandardWebhooksVerifier
    {
        StandardWebhooksVerifier(
            secrets: secrets.enumerated().map {
                PartnerSecret(id: "key-\($0.offset)", bytes: StandardWebhooksVerifier.decodeSecret($0.element) ?? [])
            },
            publicKeys: publicKeys)
    }

    static func request(id: String = id, timestamp: String = "\(timestamp)", signature: String, body: [UInt8] = body)
        -> SignedRequest
    {
        SignedRequest(
            method: "POST", path: "/v1/partners/webhooks-demo/events",
            headers: ["webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature], body: body)
    }

    @Test
    func officialVectors() throws {
        let vectors = try Vectors.load("standard-webhooks.json")
        for entry in vectors["cases"] as? [[String: Any]] ?? [] {
            let verifier = Self.verifier([entry["secret"] as? String ?? ""])
            let request = Self.request(
                id: entry["id"] as? String ?? "", timestamp: "\(entry["timestamp"] as? Int ?? 0)",
                signature: entry["expected"] as? String ?? "", body: Array((entry["payload"] as? String ?? "").utf8))
            let now = Int64(entry["timestamp"] as? Int ?? 0)
            if entry["valid"] as? Bool == true {
                let verified = try verifier.verify(request, now: now)
                #expect(verified.replayKey == Self.id)
                #expect(verified.keyId == "key-0")
                let secret = try #require(StandardWebhooksVerifier.decodeSecret(entry["secret"] as? String ?? ""))
                #expect(
                    try StandardWebhooksVerifier.sign(id: Self.id, timestamp: now, body: request.body, secret: secret)
                        == entry["expected"] as? String)
            } else {
                expectFailure(.signatureMismatch) { try verifier.verify(request, now: now) }
            }
        }
    }

    static let valid = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    struct Negative: CustomStringConvertible, Sendable {
        let name: String
        let request: SignedRequest
        var now: Int64 = StandardWebhooksVerifierTests.timestamp
        let reason: VerificationFailure.Reason
        var description: String { name }
    }

    static let negatives: [Negative] = [
        Negative(
            name: "one body byte changed",
            request: request(signature: valid, body: Array("{\"test\": 2432232315}".utf8)), reason: .signatureMismatch),
        Negative(name: "id changed", request: request(id: "msg_other", signature: valid), reason: .signatureMismatch),
        Negative(
            name: "timestamp changed", request: request(timestamp: "\(timestamp + 1)", signature: valid),
            now: timestamp + 1, reason: .signatureMismatch),
        Negative(
            name: "301 s late", request: request(signature: valid), now: timestamp + 301,
            reason: .timestampOutsideWindow),
        Negative(
            name: "301 s early", request: request(signature: valid), now: timestamp - 301,
            reason: .timestampOutsideWindow),
        Negative(
            name: "no signature header",
            request: SignedRequest(method: "POST", path: "/", headers: ["webhook-id": id, "webhook-timestamp": "1"]),
            reason: .missingSignature),
        Negative(
            name: "token without comma", request: request(signature: "v1g0hM9SsE"), reason: .malformedSignatureHeader),
        Negative(name: "empty header", request: request(signature: "   "), reason: .malformedSignatureHeader),
        Negative(
            name: "timestamp not a number", request: request(timestamp: "1614265330.5", signature: valid),
            reason: .malformedSignatureHeader),
        Negative(
            name: "negative timestamp", request: request(timestamp: "-1614265330", signature: valid),
            reason: .malformedSignatureHeader),
        Negative(
            name: "only an unknown version",
            request: request(signature: "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), reason: .signatureMismatch),
        Negative(name: "signature not base64", request: request(signature: "v1,****"), reason: .signatureMismatch),
        Negative(
            name: "wrong secret",
            request: request(signature: "v1," + Encoding.base64([UInt8](repeating: 1, count: 32))),
            reason: .signatureMismatch),
        Negative(name: "empty id", request: request(id: "", signature: valid), reason: .malformedSignatureHeader),
    ]

    @Test(arguments: negatives)
    func refuses(_ negative: Negative) {
        do {
            _ = try Self.verifier().verify(negative.request, now: negative.now)
            Issue.record("expected \(negative.reason)")
        } catch {
            #expect(error.reason == negative.reason)
            #expect(!error.detail.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "the secret never appears")
        }
    }

    @Test(arguments: [-300, 300] as [Int64])
    func acceptsAtTheWindowEdge(offset: Int64) throws {
        _ = try Self.verifier().verify(Self.request(signature: Self.valid), now: Self.timestamp + offset)
    }

    @Test
    func rotationAcceptsAnyListedSignatureWithAnyConfiguredKey() throws {
        let newSecret = "whsec_" + Encoding.base64([UInt8](repeating: 7, count: 24))
        let newSignature = try StandardWebhooksVerifier.sign(
            id: Self.id, timestamp: Self.timestamp, body: Self.body,
            secret: StandardWebhooksVerifier.decodeSecret(newSecret) ?? [])
        // The sender signs with old and new keys during rotation; we know only the new one.
        let verified = try Self.verifier([newSecret]).verify(
            Self.request(signature: "\(Self.valid) \(newSignature)"), now: Self.timestamp)
        #expect(verified.keyId == "key-0")
        // We know both; the sender has already moved to the new key.
        let both = try Self.verifier([Self.secretText, newSecret]).verify(
            Self.request(signature: newSignature), now: Self.timestamp)
        #expect(both.keyId == "key-1")
    }

    @Test
    func ed25519V1a() throws {
        let key = try AsymmetricKey.generateEd25519()
        let publicKey = try StandardWebhooksVerifier.decodePublicKey("whpk_" + Encoding.base64(try key.rawPublicKey()))
        let signature = try StandardWebhooksVerifier.sign(
            id: Self.id, timestamp: Self.timestamp, body: Self.body, privateKey: key)
        #expect(signature.hasPrefix("v1a,"))
        let verifier = Self.verifier([], publicKeys: [("ed-1", publicKey)])
        #expect(try verifier.verify(Self.request(signature: signature), now: Self.timestamp).keyId == "ed-1")
        #expect(throws: VerificationFailure.self) {
            try verifier.verify(Self.request(signature: signature, body: Self.body + [32]), now: Self.timestamp)
        }
    }

    @Test
    func mismatchCarriesTheCanonicalDigestOnlyForDebug() {
        do {
            _ = try Self.verifier().verify(
                Self.request(signature: "v1," + Encoding.base64([UInt8](repeating: 0, count: 32))), now: Self.timestamp)
        } catch {
            let digest = Encoding.hex(
                (try? Digest.sha256.hash(Array("\(Self.id).\(Self.timestamp).".utf8) + Self.body)) ?? [])
            #expect(error.canonicalDigest == digest)
            let plain = String(decoding: error.problem(requestId: "r").jsonBytes(), as: UTF8.self)
            let debug = String(decoding: error.problem(requestId: "r", debug: true).jsonBytes(), as: UTF8.self)
            #expect(!plain.contains(digest))
            #expect(debug.contains(digest))
            #expect(plain.contains("tag:citygate,2026:problem:signature-mismatch"))
        }
    }
}
