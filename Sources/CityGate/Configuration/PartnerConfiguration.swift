import Foundation

/// One partner platform (`partners/<id>.json`): its verification scheme loaded with its keys,
/// clock-skew window, the cities it may call, and whether failed signatures carry a debug digest.
///
/// Keys are references (`env:NAME`, `file:path`), resolved when the file is loaded so a missing
/// secret is a load error, not a failure at the first request. Everything scheme-specific (which
/// key fields and sections exist, how they are checked) belongs to the scheme's plugin
/// (``PartnerScheme``), found by name in ``PartnerSchemes``.
public struct PartnerConfiguration: Sendable {
    /// The partner id (the file name without `.json`).
    public var id: String
    /// A display name.
    public var name: String
    /// The scheme, loaded with this partner's keys and sections.
    public var scheme: any PartnerScheme
    /// Allowed clock skew in seconds (default 300).
    public var clockSkewSeconds: Int
    /// City codes this partner may call.
    public var cities: [String]
    /// Whether signature failures include the SHA-256 of the canonical string.
    public var debugSignatures: Bool
    /// OAuth clients of this partner (`clients[]`).
    public var clients: [OAuthClient] = []
    /// Where case progress and rating outcomes are pushed (`push`); nil: the partner polls.
    public var push: PushEndpoint?
    /// The client certificates the partner is known by on the TLS listener
    /// (`clientCertificates`); when any is listed, its requests must present one of them.
    public var clientCertificates: [ClientCertificatePin] = []

    /// Creates a partner.
    public init(
        id: String, name: String, scheme: any PartnerScheme, clockSkewSeconds: Int = 300, cities: [String],
        debugSignatures: Bool = false, clients: [OAuthClient] = []
    ) {
        self.id = id
        self.name = name
        self.scheme = scheme
        self.clockSkewSeconds = clockSkewSeconds
        self.cities = cities
        self.debugSignatures = debugSignatures
        self.clients = clients
    }

    /// The verifier for this partner's scheme and window.
    public func makeVerifier() -> any PartnerVerifier {
        scheme.makeVerifier(window: Int64(clockSkewSeconds))
    }

    /// How long a replay key of this partner is remembered.
    public var replayLifetime: Int64 {
        scheme.replayLifetime(window: Int64(clockSkewSeconds))
    }
}
