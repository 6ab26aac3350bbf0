extension HTTPClient {
    /// Which HTTP versions to speak to backends.
    public enum VersionPreference: Sendable {
        /// HTTP/2 over TLS when the backend offers it (ALPN), HTTP/1.1 in cleartext.
        case automatic
        /// HTTP/1.1 only.
        case http1
        /// HTTP/2 without upgrade in cleartext (h2c prior knowledge) and over TLS.
        ///
        /// With libcurl before 8.0.0 (Debian bookworm ships 7.88), each cleartext request opens
        /// a connection of its own: those versions fail every request after the first on a
        /// reused h2c connection (curl/curl#10634).
        case http2PriorKnowledge
    }

    /// Pool and safety limits of the client. Each has a named default.
    public struct Configuration: Sendable {
        /// Most connections to one host (CURLMOPT_MAX_HOST_CONNECTIONS). Default 64.
        public var maxConnectionsPerHost: Int
        /// Most connections overall (CURLMOPT_MAX_TOTAL_CONNECTIONS). Default 512.
        public var maxTotalConnections: Int
        /// Idle connections kept for reuse (CURLMOPT_MAXCONNECTS). Default 256.
        public var maxCachedConnections: Int
        /// Largest response body accepted; larger ones fail with `.tooLarge`. Default 8 MiB.
        public var maxResponseBytes: Int
        /// Longest a connect may take (capped by the request's deadline). Default 2 s.
        public var connectTimeout: Duration
        /// HTTP versions to use.
        public var version: VersionPreference

        /// Creates a configuration; every argument defaults to the documented value.
        public init(
            maxConnectionsPerHost: Int = 64,
            maxTotalConnections: Int = 512,
            maxCachedConnections: Int = 256,
            maxResponseBytes: Int = 8 * 1024 * 1024,
            connectTimeout: Duration = .seconds(2),
            version: VersionPreference = .automatic
        ) {
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxTotalConnections = maxTotalConnections
            self.maxCachedConnections = maxCachedConnections
            self.maxResponseBytes = maxResponseBytes
            self.connectTimeout = connectTimeout
            self.version = version
        }
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 for any positive duration, 0 otherwise.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return max(1, Int(clamping: total))
    }
}
