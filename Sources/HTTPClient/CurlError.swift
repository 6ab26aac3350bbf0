import CCurl

/// A failed outbound call: the libcurl code and text, and the kind of failure the resilience
/// layer and the problem bodies reason about.
public struct CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, coarsely.
    public enum Kind: String, Sendable, Equatable {
        /// The deadline passed (connect or total).
        case timeout
        /// Nothing listens at the address.
        case connectRefused = "connect-refused"
        /// The host name does not resolve.
        case dns
        /// The TLS handshake or certificate verification failed.
        case tls
        /// The connection broke: reset, closed mid-body, nothing received.
        case reset
        /// The response exceeded the size cap.
        case tooLarge = "too-large"
        /// The caller's task was cancelled.
        case cancelled
        /// Anything else (bad URL, internal libcurl errors).
        case other
    }

    /// The kind.
    public var kind: Kind
    /// The CURLcode (0 when the error did not come from libcurl).
    public var code: Int
    /// libcurl's error text, or ours. Never contains request content.
    public var message: String

    /// Creates an error.
    public init(kind: Kind, code: Int = 0, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// `kind (code): message`.
    public var description: String { "\(kind.rawValue) (curl \(code)): \(message)" }

    /// Maps a libcurl result code to a kind. TLS 1.3 reports a refused client certificate only
    /// after the handshake, as a read error carrying the peer's alert: that is a TLS failure.
    static func kind(for code: CURLcode, tooLarge: Bool, message: String = "") -> Kind {
        if (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR)
            && (message.contains("SSL routines") || message.contains(" alert "))
        {
            return .tls
        }
        return switch code {
        case CURLE_OPERATION_TIMEDOUT: .timeout
        case CURLE_COULDNT_CONNECT: .connectRefused
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: .dns
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_INITFAILED,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_CLIENTCERT:
            .tls
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM:
            .reset
        case CURLE_FILESIZE_EXCEEDED: .tooLarge
        case CURLE_WRITE_ERROR where tooLarge: .tooLarge
        default: .other
        }
    }
}
