import COpenSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The certificate chain, key and optional client CAs a TLS listener serves with, as one OpenSSL
/// server context that ``replace(with:)`` swaps atomically: connections already open keep the
/// context they were accepted with (each `SSL` holds a reference), new ones get the new one. A
/// replacement is fully built and checked before the swap, so an invalid new certificate leaves
/// the old one serving.
///
/// ```
///   let tls = try TLSCredentials(.init(certificateChainPEM: chain, privateKeyPEM: key))
///   configuration.tls = tls                    // the listener now speaks only TLS
///   try tls.replace(with: renewed)             // at reload
/// ```
public final class TLSCredentials: Sendable {
    /// What a context is made of.
    public struct Material: Sendable {
        /// The server certificate followed by its intermediates, PEM.
        public var certificateChainPEM: [UInt8]
        /// The certificate's private key, PEM (unencrypted).
        public var privateKeyPEM: [UInt8]
        /// CAs whose client certificates verify (PEM bundle); nil: none is trusted, only pinned
        /// keys can identify a client.
        public var clientCAsPEM: [UInt8]?
        /// Whether the handshake asks the client for a certificate (never demands one).
        public var requestClientCertificates: Bool

        /// Creates material.
        public init(
            certificateChainPEM: [UInt8], privateKeyPEM: [UInt8], clientCAsPEM: [UInt8]? = nil,
            requestClientCertificates: Bool = false
        ) {
            self.certificateChainPEM = certificateChainPEM
            self.privateKeyPEM = privateKeyPEM
            self.clientCAsPEM = clientCAsPEM
            self.requestClientCertificates = requestClientCertificates
        }
    }

    /// What the served certificate says, for `/status` and the expiry gauge.
    public struct Summary: Sendable, Equatable {
        /// The leaf's subject, RFC 2253.
        public var subject: String
        /// The end of its validity, Unix seconds.
        public var notAfter: Int64
    }

    /// TLS 1.2 suites: forward secrecy and AEAD only (Mozilla's "intermediate" list). TLS 1.3
    /// keeps OpenSSL's default suites, which are all AEAD.
    static let tls12Ciphers =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    private let current: Mutex<Context>

    /// Builds the context; throws naming what is wrong (unreadable PEM, key not matching the
    /// certificate, an expired certificate).
    public init(_ material: Material) throws(TLSError) {
        current = Mutex(try Context(material))
    }

    /// Builds a context from `material` and, only if that succeeds, serves it to new connections.
    public func replace(with material: Material) throws(TLSError) {
        let context = try Context(material)
        current.withLock { $0 = context }
    }

    /// The served certificate's subject and expiry.
    public var summary: Summary { current.withLock { $0.summary } }

    /// A server-side session for an accepted socket, or nil when OpenSSL cannot make one.
    func makeSession(fd: Int32) -> TLSSession? {
        let ssl: OpaquePointer? = current.withLock { SSL_new($0.pointer) }
        guard let ssl else {
            ERR_clear_error()
            return nil
        }
        guard SSL_set_fd(ssl, fd) == 1 else {
            ERR_clear_error()
            SSL_free(ssl)
            return nil
        }
        SSL_set_accept_state(ssl)
        return TLSSession(ssl: ssl)
    }

    /// One `SSL_CTX`, freed when the last connection made from it is gone (OpenSSL counts the
    /// `SSL` objects' references; this class holds the configuration's).
    final class Context: @unchecked Sendable {
        // @unchecked: SSL_CTX is thread-safe for SSL_new once configured; it is never changed
        // after init.
        let pointer: OpaquePointer
        let summary: Summary

        init(_ material: Material) throws(TLSError) {
            guard let method = TLS_server_method(), let pointer = SSL_CTX_new(method) else {
                throw TLSError.openSSL("TLS", "SSL_CTX_new failed")
            }
            do {
                summary = try Context.configure(pointer, material)
            } catch {
                SSL_CTX_free(pointer)
                throw error
            }
            self.pointer = pointer
        }

        deinit { SSL_CTX_free(pointer) }

        private static func configure(_ context: OpaquePointer, _ material: Material) throws(TLSError) -> Summary {
            guard citygate_tls_server_defaults(context) == 1,
                SSL_CTX_set_cipher_list(context, TLSCredentials.tls12Ciphers) == 1
            else { throw TLSError.openSSL("TLS", "cannot set protocol versions and cipher suites") }
            // Sessions resume only into the context that made them, and OpenSSL refuses to resume
            // a session with client verification unless the context is named.
            let name = Array("citygate".utf8)
            guard SSL_CTX_set_session_id_context(context, name, UInt32(name.count)) == 1 else {
                throw TLSError.openSSL("TLS", "cannot set the session id context")
            }
            var chain = try PEMBundle(pem: material.certificateChainPEM, subject: "certificate")
            defer { chain.free() }
            let leaf = chain.certificates.removeFirst()
            defer { X509_free(leaf) }
            guard citygate_x509_valid_now(leaf) == 1 else {
                throw TLSError("certificate", "not valid now (expired, or not yet valid): \(describe(leaf))")
            }
            guard SSL_CTX_use_certificate(context, leaf) == 1 else {
                throw TLSError.openSSL("certificate", "refused")
            }
            while !chain.certificates.isEmpty {
                let intermediate = chain.certificates.removeFirst()
                // add0: the context owns it from here, also when the call fails.
                guard citygate_tls_add_chain_certificate(context, intermediate) == 1 else {
                    throw TLSError.openSSL("certificate", "intermediate refused")
                }
            }
            let key = try PEMBundle.privateKey(pem: material.privateKeyPEM, subject: "private key")
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError.openSSL("private key", "does not match the certificate")
            }
            if let clientCAs = material.clientCAsPEM {
                let bundle = try PEMBundle(pem: clientCAs, subject: "client CA")
                defer { bundle.free() }
                guard let store = SSL_CTX_get_cert_store(context) else {
                    throw TLSError.openSSL("client CA", "no certificate store")
                }
                for authority in bundle.certificates {
                    // Both copy (up-reference) the certificate; the bundle frees its own.
                    guard X509_STORE_add_cert(store, authority) == 1, SSL_CTX_add_client_CA(context, authority) == 1
                    else { throw TLSError.openSSL("client CA", "refused") }
                }
            }
            citygate_tls_server_callbacks(context, material.requestClientCertificates ? 1 : 0)
            return Summary(subject: PeerCertificate.name(X509_get_subject_name(leaf)), notAfter: notAfter(leaf))
        }

        private static func describe(_ certificate: OpaquePointer) -> String {
            "\(PeerCertificate.name(X509_get_subject_name(certificate))), not after \(notAfter(certificate)) (Unix time)"
        }

        /// The end of validity in Unix seconds (0 when unreadable).
        static func notAfter(_ certificate: OpaquePointer) -> Int64 {
            var moment = tm()
            guard let time = X509_get0_notAfter(certificate), ASN1_TIME_to_tm(time, &moment) == 1 else { return 0 }
            return Int64(timegm(&moment))
        }
    }
}
