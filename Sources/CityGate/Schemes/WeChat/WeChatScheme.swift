import Cryptography
import Foundation
import HTTPCore

/// `wechat`: WeChat message push (``WeChatVerifier``), plain or safe mode. Its own section
/// `wechat` holds the appid and EncodingAESKey for safe mode. Events are XML (`MsgType`/`Event`),
/// de-duplicated by `MsgId` or `FromUserName:CreateTime`; acceptance is the body `success`.
public struct WeChatScheme: PartnerScheme {
    public static let name = "wechat"
    public static let keyFields: Set<String> = ["token"]
    public static let sections: Set<String> = ["wechat"]

    /// The tokens, all accepted (rotation).
    public var tokens: [(id: String, token: String)]
    /// Safe mode's appid.
    public var appId: String?
    /// Safe mode's AES key (decoded).
    public var aesKey: [UInt8]?

    /// Creates the scheme.
    public init(tokens: [(id: String, token: String)], appId: String? = nil, aesKey: [UInt8]? = nil) {
        self.tokens = tokens
        self.appId = appId
        self.aesKey = aesKey
    }

    public static func load(_ loader: SchemeLoader) -> Self? {
        var scheme = Self(
            tokens: loader.keys { entry in
                guard let token = entry.secret("token") else {
                    entry.report("needs token")
                    return nil
                }
                return (id: entry.id, token: token)
            })
        if let section = loader.section("wechat", allowed: ["appId", "encodingAESKey"]) {
            scheme.appId = loader.reader.string(section, "appId", at: "$.wechat")
            if let text = loader.secret(section, "encodingAESKey", at: "$.wechat") {
                scheme.aesKey = WeChatVerifier.decodeAESKey(text)
                if scheme.aesKey == nil {
                    loader.report("$.wechat.encodingAESKey", "must resolve to 43 base64 characters")
                }
            }
        }
        return scheme
    }

    public static func fixture() throws -> Self {
        Self(
            tokens: [(id: "fixture", token: Encoding.hex(try SecureBytes.random(count: 16)))],
            appId: "wx00fixture0000000", aesKey: try SecureBytes.random(count: 32))
    }

    public func sampleEvent() -> [UInt8] {
        Array(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[citygate.test]]></Event></xml>"
                .utf8)
    }

    public var keyIds: [String] { tokens.map(\.id) }

    public func makeVerifier(window: Int64) -> any PartnerVerifier {
        WeChatVerifier(tokens: tokens, aesKey: aesKey, appId: appId, window: window)
    }

    public func sign(_ request: inout SignedRequest, keyId: String?, now: Int64, nonce: String)
        throws(SigningFailure)
    {
        let token = try key(keyId, in: tokens, id: \.id).token
        var parameters = [("timestamp", "\(now)"), ("nonce", nonce)]
        if let aesKey, let appId {
            let encrypted = try SigningFailure.crypto { [request] in
                try WeChatVerifier.encrypt(request.body, aesKey: aesKey, appId: appId)
            }
            request.body = Array(
                "<xml><ToUserName><![CDATA[\(appId)]]></ToUserName><Encrypt><![CDATA[\(encrypted)]]></Encrypt></xml>"
                    .utf8)
            parameters += [
                ("encrypt_type", "aes"),
                ("msg_signature", WeChatVerifier.signature([token, "\(now)", nonce, encrypted])),
            ]
        }
        parameters.append(("signature", WeChatVerifier.signature([token, "\(now)", nonce])))
        let signed = FormEncoding.encode(parameters)
        request.rawQuery = request.rawQuery.map { "\($0)&\(signed)" } ?? signed
        request.headers = ["Content-Type": "text/xml"]
    }

    /// Plain mode signs no content: a push must travel encrypted.
    public func pushProblem(_ endpoint: PushEndpoint) -> String? {
        aesKey == nil || appId == nil
            ? "needs safe mode (wechat.appId and wechat.encodingAESKey): a plain-mode message is not signed over its content"
            : nil
    }

    /// The message-push JSON format in safe mode: `{"ToUserName", "Encrypt"}` with `signature`,
    /// `timestamp`, `nonce`, `encrypt_type=aes` and `msg_signature` in the query; the encrypted
    /// message is an event (`MsgType` `event`, `Event` `case_progress`) with the content in `Data`.
    public func push(_ message: PushMessage, to endpoint: PushEndpoint, now: Int64, nonce: String)
        throws(SigningFailure) -> SignedRequest
    {
        guard let aesKey, let appId else { throw SigningFailure(pushProblem(endpoint) ?? "") }
        let token = try key(nil, in: tokens, id: \.id).token
        let plain = JSONWriter.encode(
            .object([
                "ToUserName": .string(appId), "FromUserName": .string(message.subject),
                "CreateTime": .integer(now), "MsgType": .string("event"), "Event": .string(message.underscoredType),
                "MsgId": .string(message.id), "Data": .object(message.data),
            ]))
        let encrypted = try SigningFailure.crypto { try WeChatVerifier.encrypt(plain, aesKey: aesKey, appId: appId) }
        var request = try Self.pushRequest(
            endpoint,
            body: JSONWriter.encode(.object(["ToUserName": .string(appId), "Encrypt": .string(encrypted)])))
        let signed = FormEncoding.encode([
            ("signature", WeChatVerifier.signature([token, "\(now)", nonce])), ("timestamp", "\(now)"),
            ("nonce", nonce), ("encrypt_type", "aes"),
            ("msg_signature", WeChatVerifier.signature([token, "\(now)", nonce, encrypted])),
        ])
        request.rawQuery = request.rawQuery.map { "\($0)&\(signed)" } ?? signed
        request.headers = ["Content-Type": "application/json"]
        return request
    }

    public func readEvent(body: [UInt8], verified: VerifiedRequest) throws(EventPayload.Unreadable) -> EventPayload {
        guard let fields = XMLDocumentReader.read(Data(verified.payload)) as? [String: Any] else {
            throw EventPayload.Unreadable(message: "the message must be WeChat XML")
        }
        let messageType = fields["MsgType"] as? String ?? ""
        let type = messageType == "event" ? (fields["Event"] as? String ?? "") : messageType
        guard !type.isEmpty else { throw EventPayload.Unreadable(message: "the message has no MsgType") }
        // WeChat's own rule: messages by MsgId, events by FromUserName + CreateTime.
        let key =
            (fields["MsgId"] as? String)
            ?? (fields["FromUserName"] as? String).flatMap { from in
                (fields["CreateTime"] as? String).map { "\(from):\($0)" }
            } ?? verified.replayKey
        return EventPayload(type: type, key: key, fields: fields)
    }

    /// The exact body the platform looks for; anything else is a failure to it.
    public func accepted() -> Response {
        Response(status: .ok, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array("success".utf8))
    }
}
