import Cryptography
import HTTPCore

/// One partner platform's way of signing what it sends, as a plugin: everything CityGate knows
/// about a scheme lives in the type that conforms to this protocol, in the scheme's own folder
/// under `Schemes/`, and ``PartnerSchemes/all`` lists it. Nothing else in the gateway switches on a
/// scheme (docs/architecture.md, "Adding a partner scheme").
///
/// A value of a conforming type is the scheme *loaded with one partner's configuration*: its keys
/// (resolved from `env:`/`file:` references) and any section of its own (`wechat`, `wechatpay`).
public protocol PartnerScheme: Sendable {
    /// The name partner files write in `"scheme"` (e.g. `standard-webhooks`).
    static var name: String { get }

    /// The fields a `keys[]` entry may have besides `id`. Anything else is refused at load.
    static var keyFields: Set<String> { get }

    /// The top-level partner-file sections this scheme reads besides the common fields
    /// (``PartnerConfiguration/commonFields``). Default: none.
    static var sections: Set<String> { get }

    /// Reads this scheme's part of a partner file: its keys and sections. Every problem goes to
    /// `loader` as `file: json-path: message`; nil only when a problem was reported.
    static func load(_ loader: SchemeLoader) -> Self?

    /// A configuration with freshly generated keys that can both sign and verify: what the
    /// registry tests and the verifier fuzzer run every scheme with.
    static func fixture() throws -> Self

    /// A minimal event of type `citygate.test` in the platform's shape, ready to be signed (for
    /// WeChat Pay, with its resource encrypted under this configuration's APIv3 key): what the
    /// registry tests sign, mutate and fuzz.
    func sampleEvent() throws -> [UInt8]

    /// The configured key ids, in file order.
    var keyIds: [String] { get }

    /// The pure verifier for requests signed with these keys, accepting `window` seconds of
    /// clock skew where the scheme signs a time.
    func makeVerifier(window: Int64) -> any PartnerVerifier

    /// Signs `request` as the partner would (for `citygate sign`, tests and, later, pushes to
    /// partners): sets the scheme's headers, query parameters or body.
    /// - Parameters:
    ///   - request: method, path, query and body to sign; changed in place.
    ///   - keyId: the key to sign with; nil for the first.
    ///   - now: the Unix time to sign.
    ///   - nonce: a fresh random token (hex) for the scheme's nonce or message id.
    func sign(_ request: inout SignedRequest, keyId: String?, now: Int64, nonce: String) throws(SigningFailure)

    /// Reads a verified event's type, de-duplication id and fields, the way the platform shapes
    /// its notifications. `body` is the raw body, `verified` what the verifier made of it.
    func readEvent(body: [UInt8], verified: VerifiedRequest) throws(EventPayload.Unreadable) -> EventPayload

    /// The acknowledgement for an event now in the inbox, byte for byte what the platform expects.
    /// Default: 204 with no body.
    func accepted() -> Response

    /// A refused event in the platform's shape. Default: the RFC 9457 problem.
    func refused(_ problem: Problem) -> Response

    /// The JSON input of a synchronous call, from the verified payload. Default: the payload
    /// itself. Alipay-style platforms send forms, with the call's JSON in `biz_content` as their
    /// OpenAPI does; nil when the payload holds no input.
    func callInput(_ payload: [UInt8]) -> [UInt8]?

    /// Why this partner's `push` section cannot work with the scheme (nil: it can). WeChat-style
    /// pushes need safe mode, Alipay-style ones the app's own private key, and WeChat Pay has no
    /// message channel at all. Default: nil.
    func pushProblem(_ endpoint: PushEndpoint) -> String?

    /// A message for the partner, shaped the way the platform's message channel carries it and
    /// signed so the partner can verify it with the platform's own SDK (case progress, invitations
    /// to rate). Default: ``pushBody(_:now:)`` signed with ``sign(_:keyId:now:nonce:)``.
    func push(_ message: PushMessage, to endpoint: PushEndpoint, now: Int64, nonce: String)
        throws(SigningFailure) -> SignedRequest

    /// How long a replay key is remembered, given the partner's clock-skew window. Default:
    /// `2 × window + 60 s` (a request signed at the far edge of the window stays acceptable that
    /// long).
    func replayLifetime(window: Int64) -> Int64
}

extension PartnerScheme {
    /// The scheme's name (``name``) through a value.
    public var name: String { Self.name }

    /// No sections of its own.
    public static var sections: Set<String> { [] }

    /// 204 with no body.
    public func accepted() -> Response { Response(status: .noContent) }

    /// The RFC 9457 problem.
    public func refused(_ problem: Problem) -> Response { .problem(problem) }

    /// `2 × window + 60 s`.
    public func replayLifetime(window: Int64) -> Int64 { 2 * window + 60 }

    /// The key named `keyId` (the first when nil) among `keys`, or a failure naming what is missing.
    func key<Key>(_ keyId: String?, in keys: [Key], id: (Key) -> String) throws(SigningFailure) -> Key {
        let found = keyId.map { wanted in keys.first { id($0) == wanted } } ?? keys.first
        guard let found else { throw SigningFailure("the partner has no key \(keyId ?? "")") }
        return found
    }
}

/// Why a request could not be signed.
public struct SigningFailure: Error, Sendable, CustomStringConvertible {
    /// What is missing or wrong (never key material).
    public var description: String

    /// Creates a failure.
    public init(_ description: String) {
        self.description = description
    }
}

extension SigningFailure {
    /// Runs a cryptographic step of signing, naming the operation (never the key) if it fails.
    static func crypto<T>(_ body: () throws -> T) throws(SigningFailure) -> T {
        do { return try body() } catch let error as CryptoError {
            throw SigningFailure("signing failed: \(error.operation)")
        } catch {
            throw SigningFailure("signing failed")
        }
    }
}
