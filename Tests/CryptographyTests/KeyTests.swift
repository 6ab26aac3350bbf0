import Cryptography
import Foundation
import TestSupport
import Testing

/// RSA and Ed25519 against the openssl CLI, an implementation we did not write: keys in every PEM
/// form, signatures in both directions.
struct KeyTests {
    final class Workspace: Sendable {
        let directory: URL
        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "citygate-keys-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: directory.appendingPathComponent(name))
        }
        func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
        func readBytes(_ name: String) throws -> [UInt8] {
            Array(try Data(contentsOf: directory.appendingPathComponent(name)))
        }
        func openssl(_ arguments: String) async throws -> ExternalProcess.Result {
            let result = try await ExternalProcess.run(
                "/bin/sh", ["-c", "cd '\(directory.path)' && openssl \(arguments)"])
            if result.status != 0 {
                throw RawClient.Failure(description: "openssl \(arguments): \(result.standardError)")
            }
            return result
        }
    }

    static let message = Array("1700000000\nnonce-123\n{\"event\":\"TRANSACTION.SUCCESS\"}\n".utf8)

    @Test
    func rsaKeysInEveryPEMFormInteroperateWithOpenSSL() async throws {
        let work = try Workspace()
        _ = try await work.openssl("genrsa -traditional -out pkcs1.pem 2048")
        _ = try await work.openssl("pkcs8 -topk8 -nocrypt -in pkcs1.pem -out pkcs8.pem")
        _ = try await work.openssl("rsa -in pkcs1.pem -pubout -out spki.pem")
        _ = try await work.openssl("rsa -in pkcs1.pem -RSAPublicKey_out -out pkcs1-public.pem")
        #expect(try work.read("pkcs1.pem").contains("BEGIN RSA PRIVATE KEY"))
        #expect(try work.read("pkcs1-public.pem").contains("BEGIN RSA PUBLIC KEY"))

        let pkcs1 = try AsymmetricKey(pem: try work.read("pkcs1.pem"))
        let pkcs8 = try AsymmetricKey(pem: try work.read("pkcs8.pem"))
        let spki = try AsymmetricKey(pem: try work.read("spki.pem"))
        let pkcs1Public = try AsymmetricKey(pem: try work.read("pkcs1-public.pem"))
        #expect(pkcs1.algorithm == .rsa && pkcs1.isPrivate && !spki.isPrivate)

        // We sign, openssl verifies.
        let signature = try pkcs8.sign(Self.message)
        #expect(try pkcs1.sign(Self.message) == signature, "PKCS#1 v1.5 is deterministic: both forms are one key")
        try work.write("message.bin", Self.message)
        try work.write("ours.sig", signature)
        let verified = try await work.openssl("dgst -sha256 -verify spki.pem -signature ours.sig message.bin")
        #expect(verified.standardOutput.contains("Verified OK"))

        // openssl signs, we verify with both public forms.
        _ = try await work.openssl("dgst -sha256 -sign pkcs1.pem -out theirs.sig message.bin")
        let theirs = try work.readBytes("theirs.sig")
        #expect(spki.verify(signature: theirs, data: Self.message))
        #expect(pkcs1Public.verify(signature: theirs, data: Self.message))
        var tampered = Self.message
        tampered[0] ^= 1
        #expect(!spki.verify(signature: theirs, data: tampered))
        #expect(!spki.verify(signature: Array(theirs.dropLast()), data: Self.message))
        #expect(!spki.verify(signature: [], data: Self.message))
        #expect(throws: CryptoError.self) { try spki.sign(Self.message) }
    }

    @Test
    func certificateGivesItsKeyAndSerial() async throws {
        let work = try Workspace()
        _ = try await work.openssl(
            "req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=platform -set_serial 0x5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
        )
        let certificate = try Certificate(pem: try work.read("cert.pem"))
        #expect(certificate.serialNumber == "5157F09EFDC096DE15EBE81A47057A7232F1B8E1")
        let key = try AsymmetricKey(pem: try work.read("key.pem"))
        #expect(certificate.publicKey.verify(signature: try key.sign(Self.message), data: Self.message))
    }

    @Test
    func ed25519InteroperatesWithOpenSSL() async throws {
        let work = try Workspace()
        _ = try await work.openssl("genpkey -algorithm ed25519 -out ed.pem")
        _ = try await work.openssl("pkey -in ed.pem -pubout -out ed-public.pem")
        let key = try AsymmetricKey(pem: try work.read("ed.pem"))
        #expect(key.algorithm == .ed25519)
        try work.write("message.bin", Self.message)
        try work.write("ours.sig", try key.sign(Self.message))
        let verified = try await work.openssl(
            "pkeyutl -verify -pubin -inkey ed-public.pem -rawin -in message.bin -sigfile ours.sig")
        #expect(verified.standardOutput.contains("Signature Verified Successfully"))
        _ = try await work.openssl("pkeyutl -sign -inkey ed.pem -rawin -in message.bin -out theirs.sig")
        let publicKey = try AsymmetricKey.ed25519(publicKey: try key.rawPublicKey())
        #expect(publicKey.verify(signature: try work.readBytes("theirs.sig"), data: Self.message))
        #expect(!publicKey.verify(signature: try work.readBytes("theirs.sig"), data: Array(Self.message.dropFirst())))
    }

    @Test
    func generatedKeysRoundTripThroughPEM() throws {
        for key in [try AsymmetricKey.generateRSA(), try AsymmetricKey.generateEd25519()] {
            let reloadedPrivate = try AsymmetricKey(pem: try key.privateKeyPEM())
            let reloadedPublic = try AsymmetricKey(pem: try key.publicKeyPEM())
            #expect(reloadedPublic.verify(signature: try reloadedPrivate.sign(Self.message), data: Self.message))
        }
    }

    @Test(arguments: ["", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"])
    func malformedPEMIsAClearError(pem: String) {
        #expect(throws: CryptoError.self) { try AsymmetricKey(pem: pem) }
    }
}
