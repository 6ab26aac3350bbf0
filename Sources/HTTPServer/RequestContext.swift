/// What a handler knows about a request besides the request itself.
public struct RequestContext: Sendable {
    /// The id sent back as `X-Request-Id` and put in every problem body and log line.
    public var requestId: String
    /// Values of the route's `{name}` segments, percent-decoded.
    public var pathParameters: [String: String]
    /// The peer's address, as `host:port`.
    public var remoteAddress: String
    /// An id for the connection, stable across its kept-alive requests.
    public var connectionId: UInt64
    /// Whether the request arrived over TLS.
    public var isSecure: Bool
    /// The TLS client's certificate, when it sent one.
    public var peerCertificate: PeerCertificate?

    /// Creates a context.
    public init(
        requestId: String,
        pathParameters: [String: String] = [:],
        remoteAddress: String = "",
        connectionId: UInt64 = 0,
        isSecure: Bool = false,
        peerCertificate: PeerCertificate? = nil
    ) {
        self.isSecure = isSecure
        self.peerCertificate = peerCertificate
        self.requestId = requestId
        self.pathParameters = pathParameters
        self.remoteAddress = remoteAddress
        self.connectionId = connectionId
    }
}
