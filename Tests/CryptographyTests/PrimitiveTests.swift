import Cryptography
import Foundation
import TestSupport
import Testing

struct DigestTests {
    /// RFC 4231 test case 2 ("Jefe") for HMAC-SHA-256 and -512; FIPS 180 "abc" digests.
    @Test
    func matchesPublishedVectors() throws {
        let key = Array("Jefe".utf8)
        let data = Array("what do ya want for nothing?".utf8)
        #expect(
            Encoding.hex(try Digest.sha256.hmac(key: key, data: data))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(
            Encoding.hex(try Digest.sha512.hmac(key: key, data: data))
                == "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )
        #expect(Encoding.hex(try Digest.sha1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            Encoding.hex(try Digest.sha256.hash(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try Digest.sha1.hmac(key: [], data: []).count == 20, "an empty key is legal")
    }

    @Test
    func constantTimeEqualityAndRandomness() throws {
        #expect(SecureBytes.equal([1, 2, 3], [1, 2, 3]))
        #expect(!SecureBytes.equal([1, 2, 3], [1, 2, 4]))
        #expect(!SecureBytes.equal([1, 2, 3], [1, 2]))
        #expect(SecureBytes.equal([], []))
        let a = try SecureBytes.random(count: 32)
        let b = try SecureBytes.random(count: 32)
        #expect(a.count == 32 && a != b)
    }
}

struct EncodingTests {
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func base64RoundTripsRFC4648Vectors(plain: String, encoded: String) {
        #expect(Encoding.base64(Array(plain.utf8)) == encoded)
        #expect(Encoding.base64Decode(encoded) == Array(plain.utf8))
    }

    @Test(arguments: [
        "Zg", "Zg=", "Zg===", "Z===", "Zm9v=", "Zm9vYg=a", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n", "Zm9-", "Zm9_", "====",
        "Z",
    ])
    func base64RejectsMalformedInput(text: String) {
        #expect(Encoding.base64Decode(text) == nil)
    }

    @Test
    func urlSafeBase64() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Encoding.base64(bytes) == "+/+/")
        #expect(Encoding.base64(bytes, urlSafe: true) == "-_-_")
        #expect(Encoding.base64Decode("-_-_", urlSafe: true) == bytes)
        #expect(Encoding.base64Decode("+/+/", urlSafe: true) == nil)
        #expect(Encoding.base64Decode("Zg", urlSafe: true) == Array("f".utf8), "padding optional when URL-safe")
    }

    @Test
    func hexRoundTripAndRejects() {
        #expect(Encoding.hex([0x00, 0xAB, 0xFF]) == "00abff")
        #expect(Encoding.hexDecode("00ABff") == [0x00, 0xAB, 0xFF])
        #expect(Encoding.hexDecode("abc") == nil)
        #expect(Encoding.hexDecode("zz") == nil)
    }
}

struct CipherTests {
    @Test
    func wechatSafeModeVectorDecryptsWithAES256CBC() throws {
        let vectors = try Vectors.load("wechat.json")
        let entry = try #require((vectors["safeModeDecrypt"] as? [[String: Any]])?.first)
        let keyText = (entry["encodingAESKey"] as? String ?? "") + "="
        #expect(Encoding.base64Decode(keyText) == nil, "the key has non-zero trailing bits: strict decoding refuses it")
        let aesKey = try #require(Encoding.base64Decode(keyText, ignoreTrailingBits: true))
        #expect(aesKey.count == 32)
        let ciphertext = try #require(Encoding.base64Decode(entry["encrypt"] as? String ?? ""))
        let plain = try Cipher.aes256CBC(encrypt: false, key: aesKey, iv: Array(aesKey.prefix(16)), data: ciphertext)
        let text = String(decoding: plain, as: UTF8.self)
        for fragment in entry["plaintextContains"] as? [String] ?? [] {
            #expect(text.contains(fragment))
        }
        let again = try Cipher.aes256CBC(encrypt: true, key: aesKey, iv: Array(aesKey.prefix(16)), data: plain)
        #expect(again == ciphertext)
    }

    @Test
    func cbcRefusesUnalignedDataAndBadKeys() {
        #expect(throws: CryptoError.self) {
            try Cipher.aes256CBC(
                encrypt: true, key: [UInt8](repeating: 0, count: 32), iv: [UInt8](repeating: 0, count: 16),
                data: [1, 2, 3])
        }
        #expect(throws: CryptoError.self) {
            try Cipher.aes256CBC(
                encrypt: true, key: [UInt8](repeating: 0, count: 31), iv: [UInt8](repeating: 0, count: 16), data: [])
        }
    }

    @Test
    func wechatPayGCMVectors() throws {
        let vectors = try Vectors.load("wechatpay-v3.json")
        for entry in vectors["aesGcmDecrypt"] as? [[String: Any]] ?? [] {
            let key = Array((entry["key"] as? String ?? "").utf8)
            let nonce = Array((entry["nonce"] as? String ?? "").utf8)
            let aad = Array((entry["associatedData"] as? String ?? "").utf8)
            let sealed = try #require(Encoding.base64Decode(entry["ciphertext"] as? String ?? ""))
            if entry["valid"] as? Bool == true {
                let plain = try Cipher.gcmOpen(key: key, nonce: nonce, associatedData: aad, sealed: sealed)
                #expect(String(decoding: plain, as: UTF8.self) == entry["plaintext"] as? String)
                #expect(try Cipher.gcmSeal(key: key, nonce: nonce, associatedData: aad, plaintext: plain) == sealed)
            } else {
                #expect(throws: CryptoError.self) {
                    try Cipher.gcmOpen(key: key, nonce: nonce, associatedData: aad, sealed: sealed)
                }
            }
        }
    }

    @Test
    func gcm256DetectsEveryKindOfTampering() throws {
        let key = try SecureBytes.random(count: 32)
        let nonce = try SecureBytes.random(count: 12)
        let aad = Array("transaction".utf8)
        let sealed = try Cipher.gcmSeal(
            key: key, nonce: nonce, associatedData: aad, plaintext: Array("{\"amount\":100}".utf8))
        #expect(
            try Cipher.gcmOpen(key: key, nonce: nonce, associatedData: aad, sealed: sealed)
                == Array("{\"amount\":100}".utf8))
        var flipped = sealed
        flipped[0] ^= 1
        #expect(throws: CryptoError.self) {
            try Cipher.gcmOpen(key: key, nonce: nonce, associatedData: aad, sealed: flipped)
        }
        #expect(throws: CryptoError.self) {
            try Cipher.gcmOpen(key: key, nonce: nonce, associatedData: Array("other".utf8), sealed: sealed)
        }
        #expect(throws: CryptoError.self) {
            try Cipher.gcmOpen(key: key, nonce: nonce, associatedData: aad, sealed: Array(sealed.dropLast()))
        }
        #expect(throws: CryptoError.self) {
            try Cipher.gcmOpen(key: key, nonce: nonce, associatedData: aad, sealed: [1, 2])
        }
    }
}

/// The buffered CSPRNG behind trace ids: right lengths, refills across its 4 KiB boundary, and
/// never hands out the same bytes twice.
@Suite struct RandomPoolTests {
    @Test
    func drawsAreDistinctAcrossManyRefills() throws {
        let pool = RandomPool()
        var seen = Set<[UInt8]>()
        for _ in 0..<10_000 {
            let draw = try pool.next(24)  // 24 does not divide 4,096: each refill leaves a tail unused
            #expect(draw.count == 24)
            seen.insert(draw)
        }
        #expect(seen.count == 10_000)
        #expect(try pool.next(0).isEmpty)
        #expect(try pool.next(4096).count == 4096)
    }
}
