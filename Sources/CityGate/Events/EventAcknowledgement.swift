import Foundation
import HTTPCore

/// How each platform wants to hear "accepted" and "try again", byte for byte. A platform that
/// does not get its acknowledgement retries on its own schedule, which is what makes refusing
/// (rather than accepting and losing) safe.
enum EventAcknowledgement {
    /// The acknowledgement for an event now in the inbox (stored now or before).
    static func accepted(_ scheme: PartnerConfiguration.Scheme) -> Response {
        switch scheme {
        case .wechat, .alipayRSA2:
            // Both platforms look for this exact body; anything else is a failure to them.
            return Response(
                status: .ok, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array("success".utf8))
        case .standardWebhooks, .wechatPayV3, .hmacSHA256:
            return Response(status: .noContent)
        }
    }

    /// A refusal: RFC 9457 for everyone, and the `{"code":"FAIL","message":…}` body WeChat Pay
    /// documents for its senders.
    static func refused(_ scheme: PartnerConfiguration.Scheme, _ problem: Problem) -> Response {
        guard scheme == .wechatPayV3 else { return .problem(problem) }
        let object: [String: Any] = [
            "code": "FAIL", "message": problem.detail, "type": problem.type, "title": problem.title,
            "status": problem.status, "detail": problem.detail, "requestId": problem.requestId,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: Status(code: problem.status), headers: ["Content-Type": "application/json; charset=utf-8"],
            body: Array(data))
    }
}
