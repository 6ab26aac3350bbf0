import HTTPCore

extension HTTPServer {
    /// Everything that bounds what one client can make the server do. Each value has a named,
    /// documented default; `docs/architecture.md` lists them.
    public struct Configuration: Sendable {
        /// The address to listen on. Default `127.0.0.1:8080`.
        public var address: SocketAddress
        /// Request limits: request line 8 KiB, header section 32 KiB, 100 fields, body 1 MiB.
        public var limits: RequestParser.Configuration
        /// Time allowed from a request's first byte to the end of its header section; a client
        /// that trickles its headers is answered 408 and cut off. Default 10 s.
        public var headerReadTimeout: Duration
        /// Time allowed between two reads while content is being received. Default 30 s.
        public var bodyReadTimeout: Duration
        /// Time allowed for a whole request body, from the end of its header section, however
        /// steadily it trickles: a client that sends one byte every few seconds is answered 408
        /// and cut off here, not after hours. Default 30 s (1 MiB at 35 KB/s).
        public var bodyTimeout: Duration
        /// Time a kept-alive connection may sit idle between requests. Default 60 s.
        public var idleTimeout: Duration
        /// Time allowed without progress while the client is not reading our response
        /// (slow-read defence). Default 30 s.
        public var writeTimeout: Duration
        /// After an error response, how long unread input is drained before closing, so the
        /// client reads the response instead of a reset (RFC 9112 §9.6). Default 2 s.
        public var lingerTimeout: Duration
        /// Most open connections across all loops. At the cap, each loop first sheds its
        /// oldest idle keep-alive connections and then its slowest unfinished requests (never
        /// one being handled or answered) to make room; only when it has none to shed is a new
        /// connection refused. Default 10,000.
        public var maxConnections: Int
        /// Most open connections from one client address (IP, any port): one client cannot
        /// take the whole server. Further ones get a 503 `too-many-connections` and are closed.
        /// Default 256.
        public var maxConnectionsPerAddress: Int
        /// The listen backlog. Default 1024.
        public var backlog: Int32
        /// When set, the listener speaks only TLS (1.2 and 1.3) with these credentials. Default
        /// nil: cleartext HTTP.
        public var tls: TLSCredentials?
        /// Time allowed for a TLS handshake from accept; a client that stalls it is closed
        /// without an answer (nothing can be said to it before the handshake). Default 10 s.
        public var tlsHandshakeTimeout: Duration

        /// Creates a configuration; every argument defaults to the documented value.
        public init(
            address: SocketAddress = SocketAddress(host: "127.0.0.1", port: 8080),
            limits: RequestParser.Configuration = RequestParser.Configuration(),
            headerReadTimeout: Duration = .seconds(10),
            bodyReadTimeout: Duration = .seconds(30),
            bodyTimeout: Duration = .seconds(30),
            idleTimeout: Duration = .seconds(60),
            writeTimeout: Duration = .seconds(30),
            lingerTimeout: Duration = .seconds(2),
            maxConnections: Int = 10_000,
            maxConnectionsPerAddress: Int = 256,
            backlog: Int32 = 1024,
            tls: TLSCredentials? = nil,
            tlsHandshakeTimeout: Duration = .seconds(10)
        ) {
            self.tls = tls
            self.tlsHandshakeTimeout = tlsHandshakeTimeout
            self.address = address
            self.limits = limits
            self.headerReadTimeout = headerReadTimeout
            self.bodyReadTimeout = bodyReadTimeout
            self.bodyTimeout = bodyTimeout
            self.idleTimeout = idleTimeout
            self.writeTimeout = writeTimeout
            self.lingerTimeout = lingerTimeout
            self.maxConnections = maxConnections
            self.maxConnectionsPerAddress = maxConnectionsPerAddress
            self.backlog = backlog
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (product, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ UInt64(attoseconds / 1_000_000_000)
    }
}
