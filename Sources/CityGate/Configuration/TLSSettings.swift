import HTTPServer

/// `gateway.json` `tls`: the public listener speaks TLS with this certificate chain and key, and
/// verifies client certificates against `clientCA` when partners pin them by issuer and subject.
///
/// ```json
/// "tls": {"certificate": "file:tls/server.pem", "key": "file:tls/server.key", "clientCA": "file:tls/partner-ca.pem"}
/// ```
///
/// Every value is an `env:` or `file:` reference (the key never inline). The set is checked at
/// load by building the OpenSSL context, so an unreadable, mismatched or expired certificate is a
/// configuration problem — at start-up, or at reload, where the running certificate stays.
public struct TLSSettings: Sendable {
    /// The fields of `tls`.
    static let fields: Set<String> = ["certificate", "key", "clientCA"]

    /// What the listener's context is built from.
    public var material: TLSCredentials.Material
    /// Subject and expiry of the certificate, for `/status`.
    public var summary: TLSCredentials.Summary

    /// Reads `tls`; nil (with problems reported) when something is missing or unusable.
    static func load(
        _ object: [String: Any], reader: ConfigReader, secret: (String) -> String?
    ) -> TLSSettings? {
        reader.checkFields(object, at: "$.tls", allowed: fields)
        for required in ["certificate", "key"] where object[required] == nil {
            reader.report("$.tls.\(required)", "is required")
        }
        let certificate = secret("certificate")
        let key = secret("key")
        let clientCA = object["clientCA"] == nil ? nil : secret("clientCA")
        guard let certificate, let key, object["clientCA"] == nil || clientCA != nil else { return nil }
        let material = TLSCredentials.Material(
            certificateChainPEM: Array(certificate.utf8), privateKeyPEM: Array(key.utf8),
            clientCAsPEM: clientCA.map { Array($0.utf8) })
        do {
            let built = try TLSCredentials(material)
            return TLSSettings(material: material, summary: built.summary)
        } catch {
            let field =
                switch error.subject {
                case "certificate": ".certificate"
                case "private key": ".key"
                case "client CA": ".clientCA"
                default: ""
                }
            reader.report("$.tls\(field)", error.reason)
            return nil
        }
    }
}
