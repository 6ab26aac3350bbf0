import HTTPCore

/// An outbound request.
public struct ClientRequest: Sendable {
    /// The method token.
    public var method: String
    /// The absolute URL (`http` or `https` only).
    public var url: String
    /// Header fields, in order.
    public var headers: Headers
    /// The content; sent with Content-Length when non-empty or when the method usually has one.
    public var body: [UInt8]
    /// TLS settings for this request's backend.
    public var tls: TLSOptions

    /// Creates a request.
    public init(
        method: String = "GET",
        url: String,
        headers: Headers = Headers(),
        body: [UInt8] = [],
        tls: TLSOptions = TLSOptions()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.tls = tls
    }

    /// Whether the URL is plain `http://` (no TLS), in any letter case.
    var isClearText: Bool { url.prefix(7).lowercased() == "http://" }
}

/// TLS settings for one backend. Verification is always on: there is no switch to turn it off.
public struct TLSOptions: Sendable, Hashable {
    /// A PEM bundle of trusted CAs; nil uses the system store.
    public var caFile: String?
    /// A directory of hashed CA certificates.
    public var caPath: String?
    /// A PEM client certificate for mutual TLS.
    public var clientCertificateFile: String?
    /// The PEM private key of the client certificate.
    public var clientKeyFile: String?

    /// Creates TLS options; all default to nil (system CAs, no client certificate).
    public init(
        caFile: String? = nil,
        caPath: String? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil
    ) {
        self.caFile = caFile
        self.caPath = caPath
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }
}

/// A response from a backend.
public struct ClientResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields of the final response, in order (interim 1xx responses are dropped).
    public var headers: Headers
    /// The content.
    public var body: [UInt8]
    /// The protocol used: 1.0, 1.1, 2 or 3 (as libcurl reports it).
    public var httpVersion: String
    /// Total time of the transfer, seconds.
    public var totalSeconds: Double

    /// Creates a response.
    public init(status: Int, headers: Headers, body: [UInt8], httpVersion: String = "1.1", totalSeconds: Double = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.httpVersion = httpVersion
        self.totalSeconds = totalSeconds
    }
}
