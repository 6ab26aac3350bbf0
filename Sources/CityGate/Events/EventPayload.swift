import Foundation

/// What a verified partner event is, read by its scheme (``PartnerScheme/readEvent(body:verified:)``)
/// the way the platform shapes its notifications: the event type (for routing), the event id (for
/// de-duplication) and the fields (the input of the bound operation's templates).
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

    /// Creates a payload.
    public init(type: String, key: String, fields: [String: Any]) {
        self.type = type
        self.key = key
        self.fields = fields
    }

    /// Decodes a JSON object body (the JSON schemes' events).
    static func jsonObject(_ bytes: [UInt8]) throws(Unreadable) -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw Unreadable(message: "the event body must be a JSON object")
        }
        return object
    }

    /// The non-empty string `type` of a JSON event.
    static func type(in object: [String: Any]) throws(Unreadable) -> String {
        guard let type = object["type"] as? String, !type.isEmpty else {
            throw Unreadable(message: "the event body needs a string field 'type'")
        }
        return type
    }
}
