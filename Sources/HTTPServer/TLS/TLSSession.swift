import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// The server side of one TLS connection on a non-blocking socket: `SSL_read`/`SSL_write` and
/// what each needs to go on (more input, or room to write). The handshake runs inside the first
/// reads. Owned and touched only by the connection's loop.
final class TLSSession {
    /// The result of one read or write.
    enum Outcome: Equatable {
        /// Bytes moved (never 0).
        case done(Int)
        /// Waiting for the socket to become readable.
        case wantRead
        /// Waiting for the socket to become writable (a read can need this mid-handshake).
        case wantWrite
        /// The peer sent close_notify.
        case closed
        /// The handshake or a record failed, or the peer went away without close_notify.
        case failed
    }

    private let ssl: OpaquePointer
    /// A read stopped on `wantWrite`: retry it when the socket is writable, not when readable.
    var readWaitsForWritable = false
    /// The handshake has completed.
    private(set) var isEstablished = false
    private var peer: PeerCertificate??

    init(ssl: OpaquePointer) { self.ssl = ssl }

    deinit { SSL_free(ssl) }  // the socket is closed by its connection, not here (BIO_NOCLOSE)

    /// Decrypts into `buffer`; runs the handshake first while it is not done.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Outcome {
        ERR_clear_error()  // SSL_get_error reads this thread's queue: nothing stale may be on it
        var count = 0
        let ok = SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count)
        if !isEstablished, SSL_is_init_finished(ssl) == 1 { isEstablished = true }
        if ok == 1 {
            readWaitsForWritable = false
            return .done(count)
        }
        let outcome = failure(ok)
        readWaitsForWritable = outcome == .wantWrite
        return outcome
    }

    /// Encrypts and sends from `bytes` (partial writes allowed; a retry may pass the same bytes
    /// from a moved buffer).
    func write(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        ERR_clear_error()
        var count = 0
        let ok = SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &count)
        return ok == 1 ? .done(count) : failure(ok)
    }

    /// Sends close_notify, best effort (the connection is closing either way).
    func close() {
        guard isEstablished else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The client's certificate (read once per connection), nil when it sent none.
    var peerCertificate: PeerCertificate? {
        if let peer { return peer }
        let made = PeerCertificate(ssl: ssl)
        peer = .some(made)
        return made
    }

    /// The negotiated protocol version (`TLSv1.3`).
    var version: String { String(cString: SSL_get_version(ssl)) }

    private func failure(_ result: Int32) -> Outcome {
        let code = SSL_get_error(ssl, result)
        let outcome: Outcome
        switch code {
        case SSL_ERROR_WANT_READ: outcome = .wantRead
        case SSL_ERROR_WANT_WRITE: outcome = .wantWrite
        case SSL_ERROR_ZERO_RETURN: outcome = .closed
        default: outcome = .failed
        }
        ERR_clear_error()
        return outcome
    }
}
