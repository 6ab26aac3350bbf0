import Foundation

/// One partner event as the inbox keeps it: the raw request exactly as received (so it can be
/// re-verified or re-processed later), what verification made of it, and its delivery state.
public struct InboxEvent: Sendable, Equatable {
    /// Where an event is in its life.
    public enum State: String, Sendable, CaseIterable {
        /// Acknowledged, waiting for (another) delivery attempt.
        case pending
        /// The backend accepted it.
        case delivered
        /// Every attempt failed, or the backend refused it for good; ops can replay it.
        case dead
        /// No service binds this partner's event type; kept and visible, never dropped.
        case unbound
    }

    /// What a row is.
    public enum Kind: String, Sendable {
        /// A partner's event, delivered to its bound backend operation.
        case event
        /// A message from the gateway to the partner (`partnerId`), pushed to its `push` URL.
        case push
    }

    /// The inbox sequence number (delivery order within an ordering key).
    public var id: Int64
    /// The partner that sent it.
    public var partnerId: String
    /// The scheme's event id (de-duplication key).
    public var eventKey: String
    /// The event type (`TRANSACTION.SUCCESS`, `subscribe`, `case.progress`, ...).
    public var eventType: String
    /// When it was accepted (Unix milliseconds).
    public var receivedAt: Int64
    /// The raw request: method, path, query, headers, body.
    public var rawRequest: [UInt8]
    /// The verified (decrypted) payload.
    public var payload: [UInt8]
    /// The binding, when there is one: city, service, operation.
    public var city: String?
    /// The bound service.
    public var service: String?
    /// The bound operation.
    public var operation: String?
    /// Events with the same key are delivered one at a time, in inbox order.
    public var orderingKey: String?
    /// The state.
    public var state: State
    /// Delivery attempts made.
    public var attempts: Int
    /// When the next attempt is due (Unix milliseconds).
    public var nextAttemptAt: Int64
    /// Why the last attempt failed.
    public var lastError: String?
    /// When it was delivered (Unix milliseconds).
    public var deliveredAt: Int64?
    /// A partner event or a push.
    public var kind: Kind = .event

    /// The idempotency key the backend receives with every attempt: the same across retries,
    /// restarts and replays, different for every event.
    public var idempotencyKey: String { "evt_\(partnerId)_\(id)" }

    func summary() -> [String: Any] {
        var object: [String: Any] = [
            "id": id, "partner": partnerId, "eventType": eventType, "receivedAt": receivedAt, "state": state.rawValue,
            "attempts": attempts, "idempotencyKey": idempotencyKey, "kind": kind.rawValue,
        ]
        if let city { object["city"] = city }
        if let service { object["service"] = service }
        if let operation { object["operation"] = operation }
        if state == .pending { object["nextAttemptAt"] = nextAttemptAt }
        if let lastError { object["lastError"] = lastError }
        if let deliveredAt { object["deliveredAt"] = deliveredAt }
        return object
    }
}
