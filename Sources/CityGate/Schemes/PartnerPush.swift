import Cryptography
import Foundation
import HTTPCore

/// Where and how the gateway pushes to a partner (`push` in the partner file): case progress,
/// invitations to rate and follow-up outcomes (docs/cases.md, "Push formats").
public struct PushEndpoint: Sendable {
    /// The partner's receiving URL (http or https).
    public var url: String
    /// The key pushes are signed with where the platform's channel is asymmetric (Alipay-style:
    /// the gateway signs as the partner's app with its own RSA key, never with the platform's).
    public var privateKey: AsymmetricKey?

    /// Creates an endpoint.
    public init(url: String, privateKey: AsymmetricKey? = nil) {
        self.url = url
        self.privateKey = privateKey
    }

    /// The fields a `push` object may have.
    static let fields: Set<String> = ["url", "privateKey"]
}

/// One message for a partner, before its scheme shapes and signs it.
public struct PushMessage: Sendable, Equatable {
    /// Stable across retries and replays (the receiver de-duplicates on it).
    public var id: String
    /// `case.progress`, `case.followup.closed`.
    public var type: String
    /// The applicant's pseudonymous subject, as the partner's token named it.
    public var subject: String
    /// The message's content.
    public var data: [String: JSONValue]

    /// Creates a message.
    public init(id: String, type: String, subject: String, data: [String: JSONValue]) {
        self.id = id
        self.type = type
        self.subject = subject
        self.data = data
    }

    /// `case.progress` as a name platforms accept in an event field (`case_progress`).
    var underscoredType: String { String(type.map { $0 == "." ? "_" : $0 }) }
}

extension PartnerScheme {
    /// The payload as it is.
    public func callInput(_ payload: [UInt8]) -> [UInt8]? { payload }

    /// Nothing to refuse: the scheme pushes with its own keys.
    public func pushProblem(_ endpoint: PushEndpoint) -> String? { nil }

    /// `{"type", "id", "timestamp", "data"}` as JSON, signed the way the partner signs requests
    /// to the gateway (the same keys: the partner verifies with what it already holds).
    public func push(_ message: PushMessage, to endpoint: PushEndpoint, now: Int64, nonce: String)
        throws(SigningFailure) -> SignedRequest
    {
        var request = try Self.pushRequest(endpoint, body: Self.pushBody(message, now: now))
        try sign(&request, keyId: nil, now: now, nonce: nonce)
        return request
    }

    /// The standard JSON envelope of a push.
    static func pushBody(_ message: PushMessage, now: Int64) -> [UInt8] {
        JSONWriter.encode(
            .object([
                "type": .string(message.type), "id": .string(message.id),
                "timestamp": .string(PushClock.rfc3339(now)), "subject": .string(message.subject),
                "data": .object(message.data),
            ]))
    }

    /// A POST to the endpoint's path and query with `body`.
    static func pushRequest(_ endpoint: PushEndpoint, body: [UInt8]) throws(SigningFailure) -> SignedRequest {
        guard let url = URLComponents(string: endpoint.url) else {
            throw SigningFailure("the push URL cannot be parsed")
        }
        let path = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        return SignedRequest(method: "POST", path: path, rawQuery: url.percentEncodedQuery, body: body)
    }
}

/// Times as pushes write them.
enum PushClock {
    /// RFC 3339 in China Standard Time (`2026-12-03T10:15:00+08:00`).
    static func rfc3339(_ unixSeconds: Int64) -> String {
        let local = unixSeconds + WorkingCalendar.utcOffsetSeconds
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let seconds = Int(local - Int64(days) * 86_400)
        let date = CivilDate(daysSinceEpoch: days)
        let time = String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        return "\(date)T\(time)+08:00"
    }

    /// Parses RFC 3339 with any offset (`Z`, `+08:00`), fractional seconds ignored.
    static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let date = CivilDate(String(decoding: bytes[0..<10], as: UTF8.self)),
            let hours = digits(bytes[11..<13]), let minutes = digits(bytes[14..<16]),
            let seconds = digits(bytes[17..<19]), hours < 24, minutes < 60, seconds < 61
        else { return nil }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                index += 1
            }
            guard index > start, index < bytes.count else { return nil }
        }
        var offset = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                let offsetHours = digits(bytes[(index + 1)..<(index + 3)]),
                let offsetMinutes = digits(bytes[(index + 4)..<(index + 6)]), offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offset = (offsetHours * 60 + offsetMinutes) * 60 * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default: return nil
        }
        return Int64(date.daysSinceEpoch) * 86_400 + Int64(hours * 3600 + minutes * 60 + min(seconds, 59))
            - Int64(offset)
    }

    private static func digits(_ slice: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in slice {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
