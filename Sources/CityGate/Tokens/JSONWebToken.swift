import Cryptography
import Foundation

/// Compact JWS tokens (RFC 7515/7519) with exactly four algorithms: `EdDSA` (Ed25519), `RS256`,
/// `HS256`, and the private `SM2SM3` (国密: SM2-with-SM3 under the GM/T 0009 default user id,
/// the signature as fixed-width `r ‖ s` like RFC 7518's ECDSA; IANA registers no SM2 algorithm,
/// docs/edge.md says so). `none` and every other algorithm are refused, and the algorithm must fit the key
/// it selects (an RSA public key is never used as an HMAC secret: the classic key-confusion
/// attack).
///
/// ```
///   base64url(header) . base64url(claims) . base64url(signature over the first two parts)
/// ```
public struct JSONWebToken: @unchecked Sendable {
    // @unchecked: header and claims hold JSONSerialization values (immutable Foundation objects).

    /// The algorithms CityGate signs or accepts.
    public enum Algorithm: String, Sendable, CaseIterable {
        case edDSA = "EdDSA"
        case rs256 = "RS256"
        case hs256 = "HS256"
        /// Private (unregistered): SM2 signature with SM3, user id `1234567812345678`, `r ‖ s`.
        case sm2sm3 = "SM2SM3"

        /// The signing algorithm for an asymmetric key the gateway signs with.
        public static func signing(with key: AsymmetricKey) -> Algorithm? {
            switch key.algorithm {
            case .ed25519: .edDSA
            case .sm2: .sm2sm3
            case .rsa: .rs256
            }
        }
    }

    /// A key to sign or verify with.
    public enum Key: Sendable {
        /// An RSA or Ed25519 key (`RS256`, `EdDSA`).
        case asymmetric(AsymmetricKey)
        /// An HMAC secret (`HS256`).
        case secret([UInt8])

        /// Whether `algorithm` may be used with this key.
        func fits(_ algorithm: Algorithm) -> Bool {
            switch (self, algorithm) {
            case (.secret(let bytes), .hs256): bytes.count >= 32
            case (.asymmetric(let key), .rs256): key.algorithm == .rsa
            case (.asymmetric(let key), .edDSA): key.algorithm == .ed25519
            case (.asymmetric(let key), .sm2sm3): key.algorithm == .sm2
            default: false
            }
        }
    }

    /// Why a token was refused. `reason` is a stable word for problems and metrics; the message
    /// never contains the token or a key.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A stable reason: `malformed`, `unsupported-algorithm`, `unknown-key`, `bad-signature`,
        /// `expired`, `not-yet-valid`, `claims`.
        public let reason: String
        /// What to tell the caller.
        public let message: String

        init(_ reason: String, _ message: String) {
            self.reason = reason
            self.message = message
        }

        /// The message.
        public var description: String { message }
    }

    /// The protected header.
    public let header: [String: Any]
    /// The claims set.
    public let claims: [String: Any]
    /// The algorithm named in the header.
    public let algorithm: Algorithm

    /// The `kid` header, if any.
    public var keyId: String? { header["kid"] as? String }

    /// A string claim.
    public func string(_ name: String) -> String? { claims[name] as? String }

    /// A numeric date claim (whole seconds); nil when absent or not a number.
    public func seconds(_ name: String) -> Int64? {
        guard let number = claims[name] as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        let value = number.doubleValue
        guard value.isFinite, abs(value) < 1e15 else { return nil }
        return Int64(value)
    }

    /// Signs `claims` into the compact form.
    /// - Parameters:
    ///   - header: extra header fields (`kid`, `typ`); `alg` is set from `algorithm`.
    public static func sign(
        claims: [String: Any], header: [String: Any] = [:], algorithm: Algorithm, key: Key
    ) throws(Failure) -> String {
        guard key.fits(algorithm) else {
            throw Failure("unsupported-algorithm", "the key does not fit \(algorithm.rawValue)")
        }
        var fullHeader = header
        fullHeader["alg"] = algorithm.rawValue
        guard
            let headerData = try? JSONSerialization.data(
                withJSONObject: fullHeader, options: [.sortedKeys, .withoutEscapingSlashes]),
            let claimsData = try? JSONSerialization.data(
                withJSONObject: claims, options: [.sortedKeys, .withoutEscapingSlashes])
        else { throw Failure("malformed", "the claims are not JSON") }
        let signingInput = Encoding.base64(headerData, urlSafe: true) + "." + Encoding.base64(claimsData, urlSafe: true)
        let signature: [UInt8]
        do throws(CryptoError) {
            switch key {
            case .secret(let secret): signature = try Digest.sha256.hmac(key: secret, data: Array(signingInput.utf8))
            case .asymmetric(let asymmetric) where algorithm == .sm2sm3:
                // JWS carries r ‖ s; a DER signature that does not convert cannot occur from OpenSSL.
                signature = ECSignatureForm.raw(fromDER: try asymmetric.sm2Sign(Array(signingInput.utf8))) ?? []
            case .asymmetric(let asymmetric): signature = try asymmetric.sign(Array(signingInput.utf8))
            }
        } catch {
            throw Failure("bad-signature", "signing failed (\(error.operation))")
        }
        guard !signature.isEmpty else { throw Failure("bad-signature", "signing failed (SM2 signature form)") }
        return signingInput + "." + Encoding.base64(signature, urlSafe: true)
    }

    /// Parses and verifies `token`. `key` picks the key for the header's `kid` and algorithm
    /// (nil: no such key). Time claims are checked against `now` with `leeway` seconds:
    /// `exp` is required, `nbf` and `iat` are honoured when present.
    public static func verify(
        _ token: String, now: Int64, leeway: Int64 = 30, maxLength: Int = 8192,
        key: (_ keyId: String?, _ algorithm: Algorithm) -> Key?
    ) throws(Failure) -> JSONWebToken {
        guard token.utf8.count <= maxLength else { throw Failure("malformed", "the token is too long") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw Failure("malformed", "a token has three dot-separated parts") }
        guard let headerBytes = decodePart(parts[0]), let claimsBytes = decodePart(parts[1]),
            let signature = decodePart(parts[2])
        else { throw Failure("malformed", "a token part is not unpadded base64url") }
        guard let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: Data(claimsBytes))) as? [String: Any]
        else { throw Failure("malformed", "the header and the claims must be JSON objects") }
        guard let algorithmName = header["alg"] as? String, let algorithm = Algorithm(rawValue: algorithmName) else {
            throw Failure(
                "unsupported-algorithm",
                "alg must be one of \(Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // RFC 7515 §4.1.11: a critical extension we do not understand makes the token invalid.
        if header["crit"] != nil { throw Failure("unsupported-algorithm", "crit header extensions are not supported") }
        if let kid = header["kid"], !(kid is String) { throw Failure("malformed", "kid must be a string") }
        let keyId = header["kid"] as? String
        guard let selected = key(keyId, algorithm) else {
            throw Failure(
                "unknown-key",
                keyId == nil
                    ? "no kid, and no single key for \(algorithmName)" : "its kid names no key for \(algorithmName)")
        }
        guard selected.fits(algorithm) else {
            throw Failure("unsupported-algorithm", "\(algorithmName) does not fit the key this kid names")
        }
        let signingInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        let valid: Bool
        switch selected {
        case .secret(let secret):
            valid =
                (try? Digest.sha256.hmac(key: secret, data: signingInput)).map { SecureBytes.equal($0, signature) }
                ?? false
        case .asymmetric(let asymmetric) where algorithm == .sm2sm3:
            // Exactly 64 bytes: a DER signature or another width is not this algorithm's form.
            valid =
                signature.count == 64
                && ECSignatureForm.der(fromRaw: signature).map {
                    asymmetric.sm2Verify(signature: $0, data: signingInput)
                } == true
        case .asymmetric(let asymmetric):
            valid = asymmetric.verify(signature: signature, data: signingInput)
        }
        guard valid else { throw Failure("bad-signature", "the signature does not verify") }
        let parsed = JSONWebToken(header: header, claims: claims, algorithm: algorithm)
        guard let expires = parsed.seconds("exp") else { throw Failure("claims", "exp is required") }
        if now > expires + leeway { throw Failure("expired", "the token expired") }
        if claims["nbf"] != nil {
            guard let notBefore = parsed.seconds("nbf") else { throw Failure("claims", "nbf must be a number") }
            if now + leeway < notBefore { throw Failure("not-yet-valid", "the token is not valid yet") }
        }
        if claims["iat"] != nil {
            guard let issuedAt = parsed.seconds("iat") else { throw Failure("claims", "iat must be a number") }
            if now + leeway < issuedAt { throw Failure("not-yet-valid", "the token was issued in the future") }
        }
        return parsed
    }

    private static func decodePart(_ part: Substring) -> [UInt8]? {
        guard !part.isEmpty, !part.contains("=") else { return nil }
        return Encoding.base64Decode(String(part), urlSafe: true)
    }
}
