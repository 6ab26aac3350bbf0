import Cryptography
import Foundation
import HTTPCore

/// `alipay-rsa2`: Alipay asynchronous notifications (``AlipayVerifier``). Events are forms typed by
/// `notify_type` and de-duplicated by `notify_id`; acceptance is the body `success`. Nothing
/// time-based is signed, so replay keys are kept for 48 hours, longer than Alipay's ~25 hours of
/// retries.
public struct AlipayScheme: PartnerScheme {
    /// One Alipay platform key, with the private key only demo partners have (for signing).
    public struct Key: Sendable {
        /// The key id.
        public var id: String
        /// Alipay's public key.
        public var publicKey: AsymmetricKey
        /// The private key, for signing test notifications (demo partners only).
        public var privateKey: AsymmetricKey?
    }

    public static let name = "alipay-rsa2"
    public static let keyFields: Set<String> = ["publicKey", "privateKey"]

    /// The platform keys, all accepted (rotation).
    public var keys: [Key]

    /// Creates the scheme.
    public init(keys: [Key]) {
        self.keys = keys
    }

    public static func load(_ loader: SchemeLoader) -> Self? {
        Self(
            keys: loader.keys { entry -> Key? in
                let publicKey = entry.publicKey()
                let privateKey = entry.privateKey()
                guard let publicKey else {
                    entry.report("needs publicKey (Alipay's public key, PEM)")
                    return nil
                }
                return Key(id: entry.id, publicKey: publicKey, privateKey: privateKey)
            })
    }

    public static func fixture() throws -> Self {
        let privateKey = try AsymmetricKey.generateRSA()
        return Self(
            keys: [
                Key(
                    id: "fixture", publicKey: try AsymmetricKey(pem: try privateKey.publicKeyPEM()),
                    privateKey: privateKey)
            ])
    }

    public func sampleEvent() -> [UInt8] {
        Array("notify_type=citygate.test&notify_time=2026-12-01+10%3A00%3A00&charset=utf-8&out_trade_no=T1".utf8)
    }

    public var keyIds: [String] { keys.map(\.id) }

    public func makeVerifier(window: Int64) -> any PartnerVerifier {
        AlipayVerifier(publicKeys: keys.map { (id: $0.id, key: $0.publicKey) })
    }

    /// Signs the body's form parameters (adding a `notify_id` when there is none).
    public func sign(_ request: inout SignedRequest, keyId: String?, now: Int64, nonce: String)
        throws(SigningFailure)
    {
        let key = try key(keyId, in: keys, id: \.id)
        guard let privateKey = key.privateKey else {
            throw SigningFailure("key \(key.id) needs privateKey to sign (demo partners only)")
        }
        // A GET carries its parameters in the query, as the verifier reads them.
        let isGet = request.method == "GET"
        let source = isGet ? (request.rawQuery ?? "") : String(decoding: request.body, as: UTF8.self)
        guard let pairs = FormEncoding.decodePairs(source) else {
            throw SigningFailure("alipay-rsa2 bodies are form parameters: name=value&...")
        }
        var parameters = pairs.filter { $0.0 != "sign" && $0.0 != "sign_type" }
        if !parameters.contains(where: { $0.0 == "notify_id" }) { parameters.append(("notify_id", nonce)) }
        let form = try SigningFailure.crypto { [parameters] in
            try AlipayVerifier.signedForm(parameters, privateKey: privateKey)
        }
        if isGet {
            request.rawQuery = form
            request.headers = Headers()
        } else {
            request.body = Array(form.utf8)
            request.headers = ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"]
        }
    }

    /// `biz_content`, the JSON of an OpenAPI-style call (a signed parameter like every other).
    public func callInput(_ payload: [UInt8]) -> [UInt8]? {
        // A signed GET (its parameters in the query) has no input.
        if payload.isEmpty { return payload }
        guard let text = String(bytes: payload, encoding: .utf8), let form = FormEncoding.decode(text),
            let content = form["biz_content"]
        else { return nil }
        return Array(content.utf8)
    }

    /// Pushes are signed as the partner's app, with a key of the gateway's own.
    public func pushProblem(_ endpoint: PushEndpoint) -> String? {
        endpoint.privateKey == nil
            ? "needs push.privateKey (the RSA key pushes are signed with as the partner's app; never Alipay's own key)"
            : nil
    }

    /// An asynchronous-notification form: `notify_id` (the message id), `notify_time`,
    /// `notify_type` (`case_progress`), `charset`, `version`, `biz_content` (the JSON content),
    /// `sign_type=RSA2` and `sign` over the sorted parameters, as Alipay's SDKs verify.
    public func push(_ message: PushMessage, to endpoint: PushEndpoint, now: Int64, nonce: String)
        throws(SigningFailure) -> SignedRequest
    {
        guard let privateKey = endpoint.privateKey else { throw SigningFailure(pushProblem(endpoint) ?? "") }
        let content = JSONWriter.encode(.object(["subject": .string(message.subject), "data": .object(message.data)]))
        let time = PushClock.rfc3339(now)
        let parameters = [
            ("notify_id", message.id), ("notify_type", message.underscoredType),
            ("notify_time", String(time.prefix(19)).replacingOccurrences(of: "T", with: " ")),
            ("charset", "utf-8"), ("version", "1.0"), ("biz_content", String(decoding: content, as: UTF8.self)),
        ]
        let form = try SigningFailure.crypto { try AlipayVerifier.signedForm(parameters, privateKey: privateKey) }
        var request = try Self.pushRequest(endpoint, body: Array(form.utf8))
        request.headers = ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"]
        return request
    }

    public func readEvent(body: [UInt8], verified: VerifiedRequest) throws(EventPayload.Unreadable) -> EventPayload {
        guard let text = String(bytes: body, encoding: .utf8), var form = FormEncoding.decode(text) else {
            throw EventPayload.Unreadable(message: "the notification must be a form")
        }
        // The event is what the signature covers, nothing else: Alipay's signature leaves out
        // `sign`, `sign_type` and parameters with empty values, so anyone could add or drop those
        // on a signed notification (found by the registry's fuzz).
        form = form.filter { !$0.value.isEmpty && $0.key != "sign" && $0.key != "sign_type" }
        guard let type = form["notify_type"], !type.isEmpty else {
            throw EventPayload.Unreadable(message: "the notification needs notify_type")
        }
        return EventPayload(type: type, key: verified.replayKey, fields: form)
    }

    /// The exact body Alipay looks for; anything else makes it retry.
    public func accepted() -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array("success".utf8))
    }

    /// 48 hours: no signed time bounds a notification's age.
    public func replayLifetime(window: Int64) -> Int64 { 48 * 3600 }
}
