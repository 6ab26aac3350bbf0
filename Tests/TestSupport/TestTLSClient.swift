import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking OpenSSL client session over a connected socket, for tests that send exact bytes
/// over TLS (smuggling, slow clients) or present client certificates.
public final class TestTLSClient: @unchecked Sendable {
    // @unchecked: used by one test task at a time, like RawClient.
    /// What the client offers and trusts.
    public struct Options: Sendable {
        /// CA bundle file the server's chain must verify against; nil: no verification.
        public var caFile: String?
        /// Client certificate and key files (PEM) to present.
        public var certificateFile: String?
        public var keyFile: String?
        /// Highest/lowest protocol (`TLS1_2_VERSION`…); nil: OpenSSL's defaults.
        public var maxVersion: Int32?
        public var minVersion: Int32?
        /// ALPN protocols offered, nil: none.
        public var alpn: [String]?
        /// Creates options.
        public init(
            caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, maxVersion: Int32? = nil,
            minVersion: Int32? = nil, alpn: [String]? = nil
        ) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.maxVersion = maxVersion
            self.minVersion = minVersion
            self.alpn = alpn
        }
    }

    private let context: OpaquePointer
    private let ssl: OpaquePointer

    /// Handshakes over `fd` (blocking); throws with OpenSSL's reason when it fails.
    public init(fd: Int32, options: Options) throws {
        signal(SIGPIPE, SIG_IGN)  // OpenSSL writes with write(2): a closed peer is EPIPE, not death
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw RawClient.Failure(description: "SSL_CTX") }
        self.context = context
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw RawClient.Failure(description: "SSL_new")
        }
        self.ssl = ssl
        guard citygate_tls_client_setup(ssl, options.minVersion ?? 0, options.maxVersion ?? 0, "localhost") == 1 else {
            throw Self.failure("versions")
        }
        if let caFile = options.caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else { throw Self.failure("CA file") }
            SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        }
        if let certificateFile = options.certificateFile, let keyFile = options.keyFile {
            guard SSL_use_certificate_file(ssl, certificateFile, SSL_FILETYPE_PEM) == 1,
                SSL_use_PrivateKey_file(ssl, keyFile, SSL_FILETYPE_PEM) == 1
            else { throw Self.failure("client certificate") }
        }
        if let alpn = options.alpn {
            let wire = alpn.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
            guard SSL_set_alpn_protos(ssl, wire, UInt32(wire.count)) == 0 else { throw Self.failure("ALPN") }
        }
        guard SSL_set_fd(ssl, fd) == 1, SSL_connect(ssl) == 1 else { throw Self.failure("handshake") }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// The negotiated version (`TLSv1.3`).
    public var version: String { String(cString: SSL_get_version(ssl)) }

    /// The server certificate's subject common name, nil when none.
    public var serverCommonName: String? {
        guard let certificate = SSL_get0_peer_certificate(ssl), let name = X509_get_subject_name(certificate) else {
            return nil
        }
        var buffer = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(name, NID_commonName, &buffer, Int32(buffer.count))
        guard length > 0 else { return nil }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The ALPN protocol the server chose, nil when none.
    public var selectedALPN: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// Sends; -1 with errno set on failure.
    func send(_ bytes: UnsafeRawBufferPointer) -> Int {
        var written = 0
        guard SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written) == 1 else {
            errno = EPIPE
            ERR_clear_error()
            return -1
        }
        return written
    }

    /// Receives: the count, 0 at close, -1 with errno EAGAIN at the receive timeout or
    /// ECONNRESET.
    func receive(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        var count = 0
        let ok = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if ok == 1 { return count }
        let code = SSL_get_error(ssl, ok)
        let saved = errno
        ERR_clear_error()
        switch code {
        case SSL_ERROR_ZERO_RETURN: return 0
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            errno = EAGAIN
            return -1
        case SSL_ERROR_SYSCALL where saved == EAGAIN || saved == EWOULDBLOCK:
            errno = EAGAIN
            return -1
        default:
            errno = ECONNRESET
            return -1
        }
    }

    private static func failure(_ what: String) -> RawClient.Failure {
        let code = ERR_get_error()
        ERR_clear_error()
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return RawClient.Failure(description: "TLS \(what): \(reason)")
    }
}
