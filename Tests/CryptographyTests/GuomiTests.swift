import Foundation
import TestSupport
import Testing

@testable import Cryptography

/// 国密 through OpenSSL 3: SM3 and SM4 against their standards' published vectors, HMAC-SM3 and
/// SM2-with-SM3 against the `openssl` command line, both ways.
struct GuomiTests {
    /// GB/T 32905-2016 Appendix A: "abc" and "abcd" × 16.
    @Test
    func sm3MatchesTheStandardsVectors() throws {
        #expect(
            Encoding.hex(try Digest.sm3.hash(Array("abc".utf8)))
                == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
        #expect(
            Encoding.hex(try Digest.sm3.hash(Array(String(repeating: "abcd", count: 16).utf8)))
                == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")
        #expect(Digest.sm3.length == 32)
    }

    /// GB/T 32907-2016 Appendix A example 1: key = plaintext = 0123456789abcdeffedcba9876543210.
    /// One CBC block under a zero IV is the bare block cipher.
    @Test
    func sm4MatchesTheStandardsVector() throws {
        let key = try #require(Encoding.hexDecode("0123456789abcdeffedcba9876543210"))
        let zero = [UInt8](repeating: 0, count: 16)
        let cipher = try Cipher.sm4CBC(encrypt: true, key: key, iv: zero, data: key, padding: false)
        #expect(Encoding.hex(cipher) == "681edf34d206965e86b3e94f536e4246")
        #expect(try Cipher.sm4CBC(encrypt: false, key: key, iv: zero, data: cipher, padding: false) == key)
    }

    @Test
    func sm4CBCRoundTripsWithPaddingAndRefusesWhatIsWrong() throws {
        let key = try SecureBytes.random(count: 16)
        let iv = try SecureBytes.random(count: 16)
        for length in [0, 1, 15, 16, 17, 100] {
            let plain = try SecureBytes.random(count: length)
            let sealed = try Cipher.sm4CBC(encrypt: true, key: key, iv: iv, data: plain)
            #expect(sealed.count == (length / 16 + 1) * 16, "PKCS#7 always adds a block's worth at most")
            #expect(try Cipher.sm4CBC(encrypt: false, key: key, iv: iv, data: sealed) == plain)
        }
        #expect(throws: CryptoError.self) { try Cipher.sm4CBC(encrypt: true, key: [1], iv: iv, data: []) }
        #expect(throws: CryptoError.self) { try Cipher.sm4CBC(encrypt: true, key: key, iv: [1], data: []) }
        #expect(throws: CryptoError.self) {
            try Cipher.sm4CBC(encrypt: true, key: key, iv: iv, data: [1, 2, 3], padding: false)
        }
        let sealed = try Cipher.sm4CBC(encrypt: true, key: key, iv: iv, data: Array("十六个字节以上的明文内容".utf8))
        var otherKey = key
        otherKey[0] ^= 1
        // A wrong key almost always breaks the padding; when it does not, the text differs.
        let opened = try? Cipher.sm4CBC(encrypt: false, key: otherKey, iv: iv, data: sealed)
        #expect(opened != Array("十六个字节以上的明文内容".utf8))
    }

    /// A scratch directory for files the `openssl` command reads.
    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("guomi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test
    func hmacSM3MatchesTheOpenSSLCommand() async throws {
        let key = Array("a key of sixteen".utf8)
        let data = Array("GET.330100.审批进度".utf8)
        let directory = try Self.scratch()
        let file = directory.appendingPathComponent("data")
        try Data(data).write(to: file)
        let result = try await ExternalProcess.run(
            "/usr/bin/openssl",
            ["mac", "-digest", "SM3", "-macopt", "hexkey:\(Encoding.hex(key))", "-in", file.path, "HMAC"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(
            result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
                == Encoding.hex(try Digest.sm3.hmac(key: key, data: data)))
    }

    @Test(arguments: ["1234567812345678", "ALICE123@YAHOO.COM"])
    func sm2SignaturesInteroperateWithTheOpenSSLCommand(userId: String) async throws {
        let directory = try Self.scratch()
        let message = Array("1796264100.POST./v1/cities/330100/services/s/op.{\"a\":1}".utf8)
        let messageFile = directory.appendingPathComponent("message")
        try Data(message).write(to: messageFile)
        let id = Array(userId.utf8)

        // Ours, verified by openssl.
        let ours = try AsymmetricKey.generateSM2()
        #expect(ours.algorithm == .sm2)
        let publicFile = directory.appendingPathComponent("ours.pub")
        try ours.publicKeyPEM().write(to: publicFile, atomically: true, encoding: .utf8)
        let signatureFile = directory.appendingPathComponent("ours.sig")
        try Data(try ours.sm2Sign(message, userId: id)).write(to: signatureFile)
        let verified = try await ExternalProcess.run(
            "/usr/bin/openssl",
            [
                "pkeyutl", "-verify", "-pubin", "-inkey", publicFile.path, "-rawin", "-digest", "sm3", "-pkeyopt",
                "distid:\(userId)", "-in", messageFile.path, "-sigfile", signatureFile.path,
            ])
        #expect(verified.status == 0, "\(verified.standardOutput) \(verified.standardError)")

        // Theirs, verified by us.
        let keyFile = directory.appendingPathComponent("theirs.key")
        let generated = try await ExternalProcess.run(
            "/usr/bin/openssl", ["genpkey", "-algorithm", "SM2", "-out", keyFile.path])
        #expect(generated.status == 0, "\(generated.standardError)")
        let theirSignature = directory.appendingPathComponent("theirs.sig")
        let signed = try await ExternalProcess.run(
            "/usr/bin/openssl",
            [
                "pkeyutl", "-sign", "-inkey", keyFile.path, "-rawin", "-digest", "sm3", "-pkeyopt", "distid:\(userId)",
                "-in", messageFile.path, "-out", theirSignature.path,
            ])
        #expect(signed.status == 0, "\(signed.standardError)")
        let theirs = try AsymmetricKey(pem: try String(contentsOf: keyFile, encoding: .utf8))
        let publicOnly = try AsymmetricKey(pem: try theirs.publicKeyPEM())
        let signature = Array(try Data(contentsOf: theirSignature))
        #expect(publicOnly.sm2Verify(signature: signature, data: message, userId: id))

        // Another id, another message or a changed byte of the signature: refused.
        #expect(!publicOnly.sm2Verify(signature: signature, data: message, userId: Array("another id".utf8)))
        #expect(!publicOnly.sm2Verify(signature: signature, data: message + [0x20], userId: id))
        for index in [0, 4, signature.count / 2, signature.count - 1] {
            var tampered = signature
            tampered[index] ^= 0x01
            #expect(!publicOnly.sm2Verify(signature: tampered, data: message, userId: id), "byte \(index)")
        }
        #expect(!ours.sm2Verify(signature: signature, data: message, userId: id), "another key")
        // An RSA key is not an SM2 key.
        let rsa = try AsymmetricKey.generateRSA()
        #expect(throws: CryptoError.self) { try rsa.sm2Sign(message) }
        #expect(!rsa.sm2Verify(signature: signature, data: message))
    }
}

/// SM4-GCM against published vectors (Bouncy Castle's, as the `sm4-gcm` crate reproduces them:
/// ciphertext ‖ tag), round trips, and every kind of tampering refused.
struct SM4GCMTests {
    static let vectors: [(key: String, nonce: String, aad: String, plaintext: String, sealed: String)] = [
        (
            String(repeating: "00", count: 16), String(repeating: "00", count: 12), "", "A",
            "3c0a0922976fa15e835bc96750e730d967"
        ),
        (
            String(repeating: "00", count: 16), String(repeating: "00", count: 12), "", "hello world",
            "1587c6137e306fed6a6a5f49539b6dd6fe2b7872c3279636db07c2"
        ),
        (
            String(repeating: "ff", count: 16), String(repeating: "ff", count: 12), "aabbcc", "Hello World!",
            "99eb1206b5b2a9f9c7d7ec4a7be091388b3049363189e64a47d20c19"
        ),
        (
            String(repeating: "ff", count: 16), String(repeating: "ff", count: 12), "00010203", "Hello World!",
            "99eb1206b5b2a9f9c7d7ec4ac157a74de0381b3aa170385a113d4f31"
        ),
    ]

    @Test(arguments: 0..<vectors.count)
    func matchesPublishedVectors(index: Int) throws {
        let vector = Self.vectors[index]
        let key = try #require(Encoding.hexDecode(vector.key))
        let nonce = try #require(Encoding.hexDecode(vector.nonce))
        let aad = try #require(Encoding.hexDecode(vector.aad))
        let sealed = try SM4GCM.seal(
            key: key, nonce: nonce, associatedData: aad, plaintext: Array(vector.plaintext.utf8))
        #expect(Encoding.hex(sealed) == vector.sealed)
        #expect(
            try SM4GCM.open(key: key, nonce: nonce, associatedData: aad, sealed: sealed) == Array(vector.plaintext.utf8)
        )
    }

    @Test
    func roundTripsAndRefusesTampering() throws {
        let key = try SecureBytes.random(count: 16)
        let nonce = try SecureBytes.random(count: 12)
        for length in [0, 1, 15, 16, 17, 64, 1000] {
            let plain = try SecureBytes.random(count: length)
            let sealed = try SM4GCM.seal(key: key, nonce: nonce, associatedData: [7], plaintext: plain)
            #expect(sealed.count == length + 16)
            #expect(try SM4GCM.open(key: key, nonce: nonce, associatedData: [7], sealed: sealed) == plain)
            for position in Set([0, sealed.count / 2, sealed.count - 1]) {
                var tampered = sealed
                tampered[position] ^= 0x80
                #expect(throws: CryptoError.self) {
                    try SM4GCM.open(key: key, nonce: nonce, associatedData: [7], sealed: tampered)
                }
            }
            #expect(throws: CryptoError.self) {
                try SM4GCM.open(key: key, nonce: nonce, associatedData: [8], sealed: sealed)
            }
            var otherNonce = nonce
            otherNonce[11] ^= 1
            #expect(throws: CryptoError.self) {
                try SM4GCM.open(key: key, nonce: otherNonce, associatedData: [7], sealed: sealed)
            }
        }
        #expect(throws: CryptoError.self) { try SM4GCM.open(key: key, nonce: nonce, sealed: [1, 2, 3]) }
        #expect(throws: CryptoError.self) { try SM4GCM.seal(key: [1], nonce: nonce, plaintext: []) }
        #expect(throws: CryptoError.self) { try SM4GCM.seal(key: key, nonce: [1], plaintext: []) }
    }

    /// GHASH checked against OpenSSL's own AES-256-GCM: the tag OpenSSL computes must equal
    /// AES(K, J0) ⊕ GHASH_H(A, C) with H = AES(K, 0) and GHASH computed here — the field arithmetic
    /// checked independently of any SM4 vector.
    @Test
    func ghashAgreesWithOpenSSLsAESGCM() throws {
        let key = try SecureBytes.random(count: 32)
        let zeroIV = [UInt8](repeating: 0, count: 16)
        for (aadLength, length) in [(0, 0), (3, 1), (16, 16), (20, 33), (0, 100)] {
            let nonce = try SecureBytes.random(count: 12)
            let aad = try SecureBytes.random(count: aadLength)
            let sealed = try Cipher.gcmSeal(
                key: key, nonce: nonce, associatedData: aad, plaintext: try SecureBytes.random(count: length))
            let hashKey = Block128(
                try Cipher.aes256CBC(encrypt: true, key: key, iv: zeroIV, data: [UInt8](repeating: 0, count: 16)))
            let mask = try Cipher.aes256CBC(encrypt: true, key: key, iv: zeroIV, data: nonce + [0, 0, 0, 1])
            let tag = zip(SM4GCM.ghash(hashKey, aad, Array(sealed.dropLast(16))).bytes, mask).map { $0 ^ $1 }
            #expect(tag == Array(sealed.suffix(16)), "AAD \(aadLength), text \(length)")
        }
        // H · 1 (the field's one is 0x80 00 … in GCM's bit order) is H itself.
        let h = Block128(try SecureBytes.random(count: 16))
        let one = Block128(high: 0x8000_0000_0000_0000, low: 0)
        #expect(h * one == h)
        #expect(one * h == h)
        #expect(h * Block128(high: 0, low: 0) == Block128(high: 0, low: 0))
    }
}
