import COpenSSL

/// The certificates of a PEM text, in order (a chain or a CA bundle), read through a memory BIO
/// that owns a copy of the bytes (BIO_new_mem_buf would keep a pointer the Swift array does not
/// promise to keep alive).
struct PEMBundle {
    /// Owned `X509` pointers, freed by ``free()`` unless handed to OpenSSL.
    var certificates: [OpaquePointer]

    /// Reads every certificate of `pem`; at least one is required.
    init(pem: [UInt8], subject: String) throws(TLSError) {
        let bio = try PEMBundle.memoryBIO(pem, subject: subject)
        defer { BIO_free(bio) }
        var certificates: [OpaquePointer] = []
        while let certificate = PEM_read_bio_X509(bio, nil, nil, nil) { certificates.append(certificate) }
        // The loop ends on "no start line" at the end of the text: expected, not an error.
        ERR_clear_error()
        guard !certificates.isEmpty else { throw TLSError(subject, "no PEM certificate found") }
        self.certificates = certificates
    }

    /// Frees the certificates still owned.
    func free() { for certificate in certificates { X509_free(certificate) } }

    /// A private key from PEM (PKCS#8 or traditional, unencrypted).
    static func privateKey(pem: [UInt8], subject: String) throws(TLSError) -> OpaquePointer {
        let bio = try memoryBIO(pem, subject: subject)
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw TLSError.openSSL(subject, "no unencrypted PEM private key found")
        }
        return key
    }

    private static func memoryBIO(_ bytes: [UInt8], subject: String) throws(TLSError) -> OpaquePointer {
        guard bytes.count <= 1 << 20 else { throw TLSError(subject, "larger than 1 MiB") }
        guard let bio = BIO_new(BIO_s_mem()) else { throw TLSError.openSSL(subject, "BIO_new failed") }
        let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) else {
            BIO_free(bio)
            throw TLSError.openSSL(subject, "BIO_write failed")
        }
        return bio
    }
}
