import HTTPCore
import HTTPServer

/// Exactly what arrived, before anything parsed it: verifiers work on these bytes.
public struct SignedRequest: Sendable {
    /// The method.
    public var method: String
    /// The raw path, without the query.
    public var path: String
    /// The raw query string, without `?` (nil when absent).
    public var rawQuery: String?
    /// The header fields.
    public var headers: Headers
    /// The body, as received.
    public var body: [UInt8]

    /// Creates a request.
    public init(method: String, path: String, rawQuery: String? = nil, headers: Headers = Headers(), body: [UInt8] = [])
    {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
    }

    /// Creates one from a parsed HTTP request.
    public init(_ request: Request) {
        self.init(
            method: request.method, path: request.path, rawQuery: request.query, headers: request.headers,
            body: request.body)
    }

    /// Decoded query parameters (first value wins).
    public var queryParameters: [String: String] { FormEncoding.decode(rawQuery ?? "") ?? [:] }
}

/// What a successful verification yields.
public struct VerifiedRequest: Sendable, Equatable {
    /// The id of the key that matched (shows which key partners still sign with during rotation).
    public var keyId: String
    /// What to record in the replay store: the nonce, message id or notify id.
    public var replayKey: String
    /// The signed timestamp, when the scheme has one (Unix seconds).
    public var timestamp: Int64?
    /// The content: the body, or its decrypted plaintext (WeChat safe mode, WeChat Pay resources).
    public var payload: [UInt8]
    /// For URL verification (WeChat GET): the exact text to answer with.
    public var echo: String?

    /// Creates a result.
    public init(keyId: String, replayKey: String, timestamp: Int64? = nil, payload: [UInt8], echo: String? = nil) {
        self.keyId = keyId
        self.replayKey = replayKey
        self.timestamp = timestamp
        self.payload = payload
        self.echo = echo
    }
}

/// Why verification failed. Details never contain the secret, the expected signature or the
/// canonical string; `canonicalDigest` (SHA-256 of the canonical string) is shown only when the
/// partner's debug flag is on, so a partner can find its own mistake.
public struct VerificationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reason, used as the problem type's slug.
    public enum Reason: String, Sendable, CaseIterable {
        case missingSignature = "missing-signature"
        case malformedSignatureHeader = "malformed-signature-header"
        case signatureMismatch = "signature-mismatch"
        case timestampOutsideWindow = "timestamp-outside-window"
        case replayed
        case unknownKey = "unknown-key"
        case decryptionFailed = "decryption-failed"
        case malformedBody = "malformed-body"
    }

    /// The reason.
    public var reason: Reason
    /// A safe, specific explanation.
    public var detail: String
    /// SHA-256 (hex) of the canonical string, for the debug flag only.
    public var canonicalDigest: String?

    /// Creates a failure.
    public init(_ reason: Reason, _ detail: String, canonicalDigest: String? = nil) {
        self.reason = reason
        self.detail = detail
        self.canonicalDigest = canonicalDigest
    }

    /// `reason: detail`.
    public var description: String { "\(reason.rawValue): \(detail)" }

    /// The problem kind: 401, `replayed` 409.
    public var problemType: ProblemType { ProblemType(reason.rawValue, reason == .replayed ? 409 : 401) }

    /// The RFC 9457 problem; `debug` adds the canonical digest.
    public func problem(requestId: String, debug: Bool = false) -> Problem {
        problemError(debug: debug).problem(requestId: requestId)
    }

    /// The refusal; `debug` adds the canonical digest.
    public func problemError(debug: Bool = false) -> ProblemError {
        var extensions: [String: String] = [:]
        if debug, let canonicalDigest { extensions["canonicalSha256"] = canonicalDigest }
        return ProblemError(problemType, detail, extensions: extensions)
    }
}

/// One partner platform's way of proving who sent a request.
public protocol PartnerVerifier: Sendable {
    /// Verifies `request` as received at `now` (Unix seconds). Pure: no I/O, no replay memory
    /// (the caller records ``VerifiedRequest/replayKey`` in the ``ReplayStore``).
    func verify(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest
}

/// A symmetric secret with the id partners and ops refer to it by.
public struct PartnerSecret: Sendable {
    /// The key id (e.g. `2026-11`).
    public var id: String
    /// The secret bytes.
    public var bytes: [UInt8]

    /// Creates a secret.
    public init(id: String, bytes: [UInt8]) {
        self.id = id
        self.bytes = bytes
    }
}

/// Checks a signed timestamp against the window, in both directions.
enum TimestampWindow {
    /// Parses decimal Unix seconds (digits only, at most 12).
    static func parse(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 12, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(text)
    }

    /// Throws unless `|now − timestamp| ≤ window` (or `< window` when `exclusive`).
    static func check(_ timestamp: Int64, now: Int64, window: Int64, exclusive: Bool = false)
        throws(VerificationFailure)
    {
        let skew = abs(now - timestamp)
        if exclusive ? skew >= window : skew > window {
            throw VerificationFailure(
                .timestampOutsideWindow,
                "The signed timestamp is \(skew) s from the gateway's clock; at most \(window) s is accepted.")
        }
    }
}
