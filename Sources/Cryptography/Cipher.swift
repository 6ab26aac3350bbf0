import COpenSSL

/// AES for the partner schemes: CBC without padding (WeChat pads to 32-byte blocks itself) and
/// GCM sealing and opening (WeChat Pay v3 resources).
public enum Cipher {
    /// AES-256-CBC without padding; `data` must be a multiple of 16 bytes.
    public static func aes256CBC(encrypt: Bool, key: [UInt8], iv: [UInt8], data: [UInt8]) throws(CryptoError) -> [UInt8]
    {
        guard key.count == 32 else { throw CryptoError(operation: "AES-256-CBC", detail: "the key must be 32 bytes") }
        guard iv.count == 16 else { throw CryptoError(operation: "AES-256-CBC", detail: "the IV must be 16 bytes") }
        guard data.count % 16 == 0 else {
            throw CryptoError(operation: "AES-256-CBC", detail: "the data must be a multiple of 16 bytes")
        }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try check(EVP_CipherInit_ex2(context, EVP_aes_256_cbc(), key, iv, encrypt ? 1 : 0, nil), "AES-256-CBC init")
        try check(EVP_CIPHER_CTX_set_padding(context, 0), "AES-256-CBC padding")
        var output = [UInt8](repeating: 0, count: data.count + 16)
        var written: Int32 = 0
        var finalWritten: Int32 = 0
        try check(EVP_CipherUpdate(context, &output, &written, data, Int32(data.count)), "AES-256-CBC update")
        // Without padding, Final writes nothing for block-aligned input; it still verifies state.
        var tail = [UInt8](repeating: 0, count: 16)
        try check(EVP_CipherFinal_ex(context, &tail, &finalWritten), "AES-256-CBC final")
        return Array(output.prefix(Int(written))) + tail.prefix(Int(finalWritten))
    }

    /// SM4-CBC (GB/T 32907, 国密), 16-byte key and IV; with PKCS#7 padding by default, or none (then
    /// `data` must be a multiple of 16 bytes). A wrong key or tampered data fails on decryption's
    /// padding check as an error, never as garbage.
    public static func sm4CBC(encrypt: Bool, key: [UInt8], iv: [UInt8], data: [UInt8], padding: Bool = true)
        throws(CryptoError) -> [UInt8]
    {
        guard key.count == 16 else { throw CryptoError(operation: "SM4-CBC", detail: "the key must be 16 bytes") }
        guard iv.count == 16 else { throw CryptoError(operation: "SM4-CBC", detail: "the IV must be 16 bytes") }
        guard padding || data.count % 16 == 0 else {
            throw CryptoError(operation: "SM4-CBC", detail: "without padding the data must be a multiple of 16 bytes")
        }
        guard let cipher = EVP_sm4_cbc() else { throw CryptoError(operation: "SM4-CBC", detail: "unavailable") }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        try check(EVP_CipherInit_ex2(context, cipher, key, iv, encrypt ? 1 : 0, nil), "SM4-CBC init")
        try check(EVP_CIPHER_CTX_set_padding(context, padding ? 1 : 0), "SM4-CBC padding")
        var output = [UInt8](repeating: 0, count: data.count + 16)
        var written: Int32 = 0
        try check(EVP_CipherUpdate(context, &output, &written, data, Int32(data.count)), "SM4-CBC update")
        var tail = [UInt8](repeating: 0, count: 32)
        var finalWritten: Int32 = 0
        try check(EVP_CipherFinal_ex(context, &tail, &finalWritten), "SM4-CBC final")
        return Array(output.prefix(Int(written))) + tail.prefix(Int(finalWritten))
    }

    /// AES-GCM (128- or 256-bit key by its length) with a 16-byte tag appended to the ciphertext.
    public static func gcmSeal(key: [UInt8], nonce: [UInt8], associatedData: [UInt8], plaintext: [UInt8])
        throws(CryptoError) -> [UInt8]
    {
        let context = try gcmContext(key: key, nonce: nonce, encrypt: true)
        defer { EVP_CIPHER_CTX_free(context) }
        var written: Int32 = 0
        if !associatedData.isEmpty {
            try check(
                EVP_CipherUpdate(context, nil, &written, associatedData, Int32(associatedData.count)), "AES-GCM AAD")
        }
        var output = [UInt8](repeating: 0, count: plaintext.count + 16)
        try check(EVP_CipherUpdate(context, &output, &written, plaintext, Int32(plaintext.count)), "AES-GCM update")
        var finalWritten: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)
        try check(EVP_CipherFinal_ex(context, &scratch, &finalWritten), "AES-GCM final")
        var tag = [UInt8](repeating: 0, count: 16)
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, 16, &tag), "AES-GCM tag")
        return Array(output.prefix(Int(written))) + tag
    }

    /// Opens AES-GCM `ciphertext ‖ tag`; fails when the tag does not authenticate.
    public static func gcmOpen(key: [UInt8], nonce: [UInt8], associatedData: [UInt8], sealed: [UInt8])
        throws(CryptoError) -> [UInt8]
    {
        guard sealed.count >= 16 else { throw CryptoError(operation: "AES-GCM open", detail: "shorter than the tag") }
        let ciphertext = Array(sealed.dropLast(16))
        var tag = Array(sealed.suffix(16))
        let context = try gcmContext(key: key, nonce: nonce, encrypt: false)
        defer { EVP_CIPHER_CTX_free(context) }
        var written: Int32 = 0
        if !associatedData.isEmpty {
            try check(
                EVP_CipherUpdate(context, nil, &written, associatedData, Int32(associatedData.count)), "AES-GCM AAD")
        }
        var output = [UInt8](repeating: 0, count: ciphertext.count + 16)
        try check(EVP_CipherUpdate(context, &output, &written, ciphertext, Int32(ciphertext.count)), "AES-GCM update")
        try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, 16, &tag), "AES-GCM tag")
        var finalWritten: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)
        guard EVP_CipherFinal_ex(context, &scratch, &finalWritten) == 1 else {
            _ = CryptoError("drain")
            throw CryptoError(operation: "AES-GCM open", detail: "authentication failed")
        }
        return Array(output.prefix(Int(written)))
    }

    private static func gcmContext(key: [UInt8], nonce: [UInt8], encrypt: Bool) throws(CryptoError) -> OpaquePointer {
        let cipher: OpaquePointer?
        switch key.count {
        case 16: cipher = EVP_aes_128_gcm()
        case 32: cipher = EVP_aes_256_gcm()
        default: throw CryptoError(operation: "AES-GCM", detail: "the key must be 16 or 32 bytes")
        }
        guard !nonce.isEmpty else { throw CryptoError(operation: "AES-GCM", detail: "the nonce is empty") }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError("EVP_CIPHER_CTX_new") }
        do {
            try check(EVP_CipherInit_ex2(context, cipher, nil, nil, encrypt ? 1 : 0, nil), "AES-GCM init")
            try check(
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonce.count), nil), "AES-GCM IV length")
            try check(EVP_CipherInit_ex2(context, nil, key, nonce, encrypt ? 1 : 0, nil), "AES-GCM key")
        } catch {
            EVP_CIPHER_CTX_free(context)
            throw error
        }
        return context
    }
}
