import HTTPServer

/// One client certificate a partner (or a backend reporting case progress) is known by on the
/// TLS listener, from its file's `clientCertificates`:
///
/// ```json
/// "clientCertificates": [
///   {"spkiSha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="},
///   {"issuer": "CN=Partner CA,O=Example", "subject": "CN=wechat-city,O=Example"}
/// ]
/// ```
///
/// A key pin (the base64 SHA-256 of the certificate's SubjectPublicKeyInfo, RFC 7469's
/// `pin-sha256`) is trust by itself — a self-signed certificate is fine — but the certificate
/// must be inside its validity period. An issuer-and-subject pin needs the chain to verify
/// against `gateway.json` `tls.clientCA` (dates included); names are RFC 2253, as
/// `openssl x509 -noout -subject -nameopt RFC2253` prints them.
public enum ClientCertificatePin: Sendable, Hashable, CustomStringConvertible {
    case publicKey(spkiSHA256: String)
    case issued(issuer: String, subject: String)

    /// Whether `certificate` is this pin's.
    public func matches(_ certificate: PeerCertificate) -> Bool {
        switch self {
        case .publicKey(let pin): certificate.validNow && certificate.spkiSHA256 == pin
        case .issued(let issuer, let subject):
            certificate.chainVerified && certificate.issuer == issuer && certificate.subject == subject
        }
    }

    /// Whether the pin names the certificate without regard to trust or dates: such a
    /// certificate is someone's, even when it may not be used now.
    func names(_ certificate: PeerCertificate) -> Bool {
        switch self {
        case .publicKey(let pin): certificate.spkiSHA256 == pin
        case .issued(let issuer, let subject): certificate.issuer == issuer && certificate.subject == subject
        }
    }

    /// Needs `tls.clientCA` to be matched at all.
    var needsClientCA: Bool { if case .issued = self { true } else { false } }

    public var description: String {
        switch self {
        case .publicKey(let pin): "spkiSha256 \(pin)"
        case .issued(let issuer, let subject): "subject \(subject) from \(issuer)"
        }
    }

    /// Reads a `clientCertificates` array at `path` of `object`; nil when absent.
    static func load(_ object: [String: Any], at path: String, reader: ConfigReader) -> [ClientCertificatePin]? {
        guard object["clientCertificates"] != nil else { return nil }
        let items = reader.array(object, "clientCertificates", at: path) ?? []
        if items.isEmpty { reader.report("\(path).clientCertificates", "must list at least one certificate") }
        var pins: [ClientCertificatePin] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path).clientCertificates[\(index)]"
            guard let entry = reader.object(item, at: itemPath) else { continue }
            reader.checkFields(entry, at: itemPath, allowed: ["spkiSha256", "issuer", "subject"])
            if let pin = reader.string(entry, "spkiSha256", at: itemPath, required: false) {
                if entry["issuer"] != nil || entry["subject"] != nil {
                    reader.report(itemPath, "pins either spkiSha256 or issuer and subject, not both")
                } else if pin.utf8.count != 44 || !pin.hasSuffix("=")
                    || !pin.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+/=".contains($0)) })
                {
                    reader.report(
                        "\(itemPath).spkiSha256",
                        "must be the base64 SHA-256 of the SubjectPublicKeyInfo (44 characters)")
                } else {
                    pins.append(.publicKey(spkiSHA256: pin))
                }
                continue
            }
            let issuer = reader.string(entry, "issuer", at: itemPath, required: false)
            let subject = reader.string(entry, "subject", at: itemPath, required: false)
            guard let issuer, let subject, !issuer.isEmpty, !subject.isEmpty else {
                reader.report(itemPath, "needs spkiSha256, or issuer and subject (RFC 2253 names)")
                continue
            }
            pins.append(.issued(issuer: issuer, subject: subject))
        }
        return pins
    }
}
