import Foundation
import HTTPCore

/// An OAuth error (RFC 6749 §5.2, RFC 7009, RFC 6750 §3.1). The body carries the OAuth members
/// (`error`, `error_description`) that OAuth client libraries read, and the RFC 9457 members with
/// the request id that every CityGate error has.
public struct OAuthError: Error, Sendable, Equatable {
    /// The OAuth error code (`invalid_client`, `invalid_grant`, `invalid_token`, ...).
    public let code: String
    /// Human-readable, never containing a token, secret or citizen id.
    public let description: String
    /// The HTTP status.
    public let status: Int
    /// For `invalid_client` with Basic authentication, and for bearer errors: the challenge.
    public var challenge: String?

    init(_ code: String, _ description: String, status: Int = 400, challenge: String? = nil) {
        self.code = code
        self.description = description
        self.status = status
        self.challenge = challenge
    }

    /// The token endpoint's answer for this error (`application/json`, as RFC 6749 §5.2 requires).
    func response(requestId: String) -> Response {
        let object: [String: Any] = [
            "error": code, "error_description": description,
            "type": Problem.typePrefix + code.replacingOccurrences(of: "_", with: "-"),
            "title": Status.standardPhrase(for: status), "status": status, "detail": description,
            "requestId": requestId,
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        var response = Response(
            status: Status(code: status), headers: ["Content-Type": "application/json; charset=utf-8"],
            body: Array(data))
        response.headers.add(name: "Cache-Control", value: "no-store")
        if let challenge { response.headers.add(name: "WWW-Authenticate", value: challenge) }
        return response
    }
}
