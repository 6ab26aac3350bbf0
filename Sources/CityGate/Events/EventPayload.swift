import Cryptography
import Foundation

/// What a verified partner event is, read the way each platform shapes its notifications: the
/// event type (for routing), the event id (for de-duplication) and the fields (the input of the
/// bound operation's templates).
///
/// | scheme | type | id | fields |
/// |---|---|---|---|
/// | standard-webhooks | `type` | `webhook-id` | the JSON body |
/// | wechat | `Event` (else `MsgType`) | `MsgId`, else `FromUserName:CreateTime` | the decrypted XML's elements |
/// | wechatpay-v3 | `event_type` | the notification `id` | the decrypted `resource` |
/// | alipay-rsa2 | `notify_type` | `notify_id` | the form fields |
/// | hmac-sha256 | `type` | `id`, else the signature | the JSON body |
public struct EventPayload: @unchecked Sendable {
    // @unchecked: `fields` holds JSONSerialization values (immutable Foundation objects).

    /// The event type.
    public var type: String
    /// The de-duplication key: the same for every retry of one event.
    public var key: String
    /// The event's fields.
    public var fields: [String: Any]

    /// Why an event could not be read.
    public struct Unreadable: Error, Sendable {
        /// What is wrong (no content of the event).
        public let message: String
    }

    /// Reads a verified event. `body` is the raw request body; `verified` what the verifier made
    /// of it (the decrypted payload for WeChat safe mode and WeChat Pay).
    public static func read(scheme: PartnerConfiguration.Scheme, body: [UInt8], verified: VerifiedRequest)
        throws(Unreadable) -> EventPayload
    {
        switch scheme {
        case .standardWebhooks, .hmacSHA256:
            let object = try jsonObject(verified.payload)
            guard let type = object["type"] as? String, !type.isEmpty else {
                throw Unreadable(message: "the event body needs a string field 'type'")
            }
            let id = scheme == .hmacSHA256 ? (object["id"] as? String ?? verified.replayKey) : verified.replayKey
            return EventPayload(type: type, key: id, fields: object)
        case .wechat:
            guard let fields = XMLDocumentReader.read(Data(verified.payload)) as? [String: Any] else {
                throw Unreadable(message: "the message must be WeChat XML")
            }
            let messageType = fields["MsgType"] as? String ?? ""
            let type = messageType == "event" ? (fields["Event"] as? String ?? "") : messageType
            guard !type.isEmpty else { throw Unreadable(message: "the message has no MsgType") }
            // WeChat's own rule: messages by MsgId, events by FromUserName + CreateTime.
            let key =
                (fields["MsgId"] as? String)
                ?? (fields["FromUserName"] as? String).flatMap { from in
                    (fields["CreateTime"] as? String).map { "\(from):\($0)" }
                } ?? verified.replayKey
            return EventPayload(type: type, key: key, fields: fields)
        case .wechatPayV3:
            let envelope = try jsonObject(body)
            guard let type = envelope["event_type"] as? String, !type.isEmpty else {
                throw Unreadable(message: "the notification needs event_type")
            }
            var fields = (try? jsonObject(verified.payload)) ?? [:]
            fields["event_type"] = type
            return EventPayload(type: type, key: envelope["id"] as? String ?? verified.replayKey, fields: fields)
        case .alipayRSA2:
            guard let text = String(bytes: body, encoding: .utf8), let form = FormEncoding.decode(text) else {
                throw Unreadable(message: "the notification must be a form")
            }
            guard let type = form["notify_type"], !type.isEmpty else {
                throw Unreadable(message: "the notification needs notify_type")
            }
            return EventPayload(type: type, key: verified.replayKey, fields: form)
        }
    }

    private static func jsonObject(_ bytes: [UInt8]) throws(Unreadable) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw Unreadable(message: "the event body must be a JSON object")
        }
        return object
    }
}
