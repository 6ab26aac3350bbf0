import Cryptography
import Foundation
import HTTPClient
import HTTPCore

/// Sends one push from the inbox (``InboxEvent/Kind/push``) to its partner's `push` URL, shaped
/// and signed by the partner's scheme at the moment of each attempt (so a retry an hour later
/// carries a fresh timestamp the partner's verifier accepts), with the message id kept stable
/// for the partner's de-duplication.
///
/// The outcome follows event deliveries' rules: 2xx delivered; 408, 425, 429, 5xx and network
/// failures retried on the schedule; any other status dead at once, replayable from
/// `/admin/deliveries`.
struct PartnerPusher: Sendable {
    let client: HTTPClient?
    /// The longest one attempt may take.
    let attemptTimeout: Duration

    /// The stored form of a push: what the inbox row's payload holds.
    static func payload(_ message: PushMessage) -> [UInt8] {
        JSONWriter.encode(
            .object([
                "id": .string(message.id), "type": .string(message.type), "subject": .string(message.subject),
                "data": .object(message.data),
            ]))
    }

    /// The message a payload holds.
    static func message(_ payload: [UInt8]) -> PushMessage? {
        guard case .object(let object)? = try? JSONReader.parse(payload), let id = object["id"]?.stringValue,
            let type = object["type"]?.stringValue, let subject = object["subject"]?.stringValue,
            case .object(let data)? = object["data"]
        else { return nil }
        return PushMessage(id: id, type: type, subject: subject, data: data)
    }

    /// A stable message id for `parts` (32 hex digits of their SHA-256).
    static func messageId(_ parts: [String]) -> String {
        let digest = (try? Digest.sha256.hash(Array(parts.joined(separator: "\u{1F}").utf8))) ?? []
        return Encoding.hex(Array(digest.prefix(16)))
    }

    func attempt(_ event: InboxEvent, snapshot: ConfigurationSnapshot, now: Int64) async -> DeliveryWorker.Outcome {
        guard let partner = snapshot.authenticators[event.partnerId]?.partner else {
            return .retry(reason: "partner \(event.partnerId) is no longer configured", retryAfterMilliseconds: nil)
        }
        guard let endpoint = partner.push else {
            return .retry(reason: "partner \(event.partnerId) has no push URL", retryAfterMilliseconds: nil)
        }
        guard let message = Self.message(event.payload) else { return .dead(reason: "the stored push is unreadable") }
        let signed: SignedRequest
        do {
            signed = try partner.scheme.push(message, to: endpoint, now: now / 1000, nonce: message.id)
        } catch {
            return .retry(reason: "the push cannot be signed: \(error.description)", retryAfterMilliseconds: nil)
        }
        guard let client else { return .deferred(reason: "no outbound client") }
        var url = endpoint.url
        if let query = signed.rawQuery, !query.isEmpty, let base = URLComponents(string: endpoint.url) {
            var parts = base
            parts.percentEncodedQuery = query
            url = parts.string ?? url
        }
        var headers = signed.headers
        headers.replaceOrAdd(name: "User-Agent", value: "CityGate-Push/1")
        headers.replaceOrAdd(name: "X-CityGate-Push-Id", value: message.id)
        let answer: ClientResponse
        do {
            answer = try await client.execute(
                ClientRequest(method: "POST", url: url, headers: headers, body: signed.body),
                deadline: .now + attemptTimeout)
        } catch {
            if error.kind == .cancelled || Task.isCancelled { return .cancelled }
            return .retry(reason: "push to \(event.partnerId): \(error.kind.rawValue)", retryAfterMilliseconds: nil)
        }
        return .answered(answer, by: "partner \(event.partnerId)", what: "the push")
    }
}
