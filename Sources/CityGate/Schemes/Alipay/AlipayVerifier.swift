import Cryptography

/// Alipay asynchronous notifications with `sign_type=RSA2`: form-decode every value, drop `sign`,
/// `sign_type` and empty values, sort by name (byte order), join `name=value` with `&` using the
/// decoded values, and verify SHA256withRSA (base64 `sign`) with the platform public key. Nothing
/// time-based is signed: freshness comes from de-duplicating `notify_id`.
public struct AlipayVerifier: PartnerVerifier {
    /// Alipay platform public keys (several during rotation).
    public var publicKeys: [(id: String, key: AsymmetricKey)]

    /// Creates a verifier.
    public init(publicKeys: [(id: String, key: AsymmetricKey)]) {
        self.publicKeys = publicKeys
    }

    /// The string that is signed, from decoded parameters.
    public static func canonical(_ parameters: [(String, String)]) -> String {
        parameters.filter { $0.0 != "sign" && $0.0 != "sign_type" && !$0.1.isEmpty }
            .sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    public func verify(_ request: SignedRequest, now: Int64) throws(VerificationFailure) -> VerifiedRequest {
        let source = request.method == "GET" ? (request.rawQuery ?? "") : String(decoding: request.body, as: UTF8.self)
        guard let pairs = FormEncoding.decodePairs(source) else {
            throw VerificationFailure(
                .malformedBody, "The notification must be application/x-www-form-urlencoded UTF-8.")
        }
        let names = pairs.map(\.0)
        guard Set(names).count == names.count else {
            throw VerificationFailure(.malformedBody, "A parameter appears more than once.")
        }
        let parameters = Dictionary(uniqueKeysWithValues: pairs)
        guard let signText = parameters["sign"], !signText.isEmpty else {
            throw VerificationFailure(.missingSignature, "The sign parameter is required.")
        }
        guard parameters["sign_type"] == nil || parameters["sign_type"] == "RSA2" else {
            throw VerificationFailure(.malformedSignatureHeader, "Only sign_type=RSA2 is accepted.")
        }
        if let charset = parameters["charset"], charset.lowercased() != "utf-8" {
            throw VerificationFailure(.malformedBody, "Only charset=utf-8 notifications are accepted.")
        }
        guard let signature = Encoding.base64Decode(signText) else {
            throw VerificationFailure(.malformedSignatureHeader, "sign must be base64.")
        }
        guard let notifyId = parameters["notify_id"], !notifyId.isEmpty else {
            throw VerificationFailure(.malformedBody, "notify_id is required (it is what de-duplicates notifications).")
        }
        let canonical = Array(Self.canonical(pairs).utf8)
        for (id, key) in publicKeys where key.verify(signature: signature, data: canonical) {
            return VerifiedRequest(keyId: id, replayKey: notifyId, payload: request.body)
        }
        throw VerificationFailure(
            .signatureMismatch, "sign does not verify with any configured Alipay public key.",
            canonicalDigest: (try? Digest.sha256.hash(canonical)).map(Encoding.hex))
    }

    /// Signs parameters as Alipay does; returns them with `sign` and `sign_type` added, encoded.
    public static func signedForm(_ parameters: [(String, String)], privateKey: AsymmetricKey) throws(CryptoError)
        -> String
    {
        let signature = Encoding.base64(try privateKey.sign(Array(canonical(parameters).utf8)))
        return FormEncoding.encode(parameters + [("sign_type", "RSA2"), ("sign", signature)])
    }
}
