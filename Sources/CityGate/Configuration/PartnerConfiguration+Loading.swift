import Cryptography
import Foundation

extension PartnerConfiguration {
    static let fields: Set<String> = [
        "id", "name", "scheme", "keys", "clockSkewSeconds", "cities", "clients", "debugSignatures", "wechat",
        "wechatpay", "ack",
    ]
    static let keyFields: Set<String> = [
        "id", "secret", "token", "publicKey", "certificate", "privateKey", "notBefore", "notAfter",
    ]

    /// Loads and validates one partner file, resolving its secret references.
    /// - Parameters:
    ///   - path: the file's path.
    ///   - displayName: how problems name the file (e.g. `partners/wechat-city.json`).
    ///   - environment: where `env:` references are looked up.
    public static func load(
        path: String, displayName: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Result<PartnerConfiguration, ConfigProblems> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(
                ConfigProblems(problems: [ConfigProblem(file: displayName, path: "$", message: "cannot be read")]))
        }
        return load(data: data, path: path, displayName: displayName, environment: environment)
    }

    /// Loads one partner file from bytes already read (`path` places its `file:` references).
    static func load(
        data: Data, path: String, displayName: String, environment: [String: String]
    ) -> Result<PartnerConfiguration, ConfigProblems> {
        let reader = ConfigReader(file: displayName)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard let root = reader.document(data) else { return .failure(ConfigProblems(problems: reader.problems)) }
        reader.checkFields(root, at: "$", allowed: fields)
        let expectedId = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let id = reader.string(root, "id", at: "$") ?? expectedId
        if id != expectedId { reader.report("$.id", "must match the file name ('\(expectedId)')") }
        let name = reader.string(root, "name", at: "$") ?? id
        let schemeText = reader.string(root, "scheme", at: "$") ?? ""
        let scheme = Scheme(rawValue: schemeText)
        if scheme == nil && !schemeText.isEmpty {
            reader.report(
                "$.scheme",
                "unknown scheme '\(schemeText)' (known: \(Scheme.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let clockSkew = reader.integer(root, "clockSkewSeconds", at: "$", range: 1...3600) ?? 300
        let debug = reader.boolean(root, "debugSignatures", at: "$") ?? false
        var cities: [String] = []
        for (index, value) in (reader.array(root, "cities", at: "$") ?? []).enumerated() {
            guard let code = value as? String, code.count == 6, code.allSatisfy(\.isASCII), code.allSatisfy(\.isNumber)
            else {
                reader.report("$.cities[\(index)]", "must be a 6-digit administrative code")
                continue
            }
            cities.append(code)
        }

        func secret(_ object: [String: Any], _ field: String, at path: String) -> String? {
            reader.secret(object, field, at: path, directory: directory, environment: environment)
        }

        var keys: [Key] = []
        let keyItems = reader.array(root, "keys", at: "$") ?? []
        if keyItems.isEmpty && root["keys"] is [Any] { reader.report("$.keys", "must list at least one key") }
        var seenKeyIds: Set<String> = []
        for (index, item) in keyItems.enumerated() {
            let path = "$.keys[\(index)]"
            guard let object = reader.object(item, at: path) else { continue }
            reader.checkFields(object, at: path, allowed: keyFields)
            let keyId = reader.string(object, "id", at: path) ?? "\(index)"
            if !seenKeyIds.insert(keyId).inserted { reader.report("\(path).id", "duplicate key id '\(keyId)'") }
            var key = Key(id: keyId)
            if let text = secret(object, "secret", at: path) {
                switch scheme {
                case .standardWebhooks:
                    key.secret = StandardWebhooksVerifier.decodeSecret(text)
                    if key.secret == nil {
                        reader.report("\(path).secret", "must resolve to whsec_ followed by base64")
                    }
                default: key.secret = Array(text.utf8)
                }
            }
            key.token = secret(object, "token", at: path)
            if let text = secret(object, "publicKey", at: path) {
                do {
                    key.publicKey =
                        text.hasPrefix("whpk_")
                        ? try StandardWebhooksVerifier.decodePublicKey(text) : try AsymmetricKey(pem: text)
                } catch {
                    reader.report(
                        "\(path).publicKey", "must resolve to a PEM public key or whpk_ key (\(error.operation))")
                }
            }
            if let text = secret(object, "certificate", at: path) {
                do {
                    let certificate = try Certificate(pem: text)
                    key.publicKey = certificate.publicKey
                    key.serial = certificate.serialNumber
                } catch {
                    reader.report("\(path).certificate", "must resolve to a PEM X.509 certificate")
                }
            }
            if let text = secret(object, "privateKey", at: path) {
                do { key.privateKey = try AsymmetricKey(pem: text) } catch {
                    reader.report("\(path).privateKey", "must resolve to a PEM private key")
                }
            }
            switch scheme {
            case .standardWebhooks where key.secret == nil && key.publicKey == nil:
                reader.report(path, "needs secret (whsec_) or publicKey (whpk_)")
            case .wechat where key.token == nil: reader.report(path, "needs token")
            case .wechatPayV3 where key.serial == nil:
                reader.report(path, "needs certificate (the platform certificate, PEM)")
            case .alipayRSA2 where key.publicKey == nil:
                reader.report(path, "needs publicKey (Alipay's public key, PEM)")
            case .hmacSHA256 where key.secret == nil: reader.report(path, "needs secret")
            default: break
            }
            keys.append(key)
        }

        var configuration = PartnerConfiguration(
            id: id, name: name, scheme: scheme ?? .hmacSHA256, keys: keys, clockSkewSeconds: clockSkew, cities: cities,
            debugSignatures: debug)
        if let wechat = root["wechat"] {
            if let object = reader.object(wechat, at: "$.wechat") {
                reader.checkFields(object, at: "$.wechat", allowed: ["appId", "encodingAESKey"])
                configuration.wechatAppId = reader.string(object, "appId", at: "$.wechat")
                if let text = secret(object, "encodingAESKey", at: "$.wechat") {
                    configuration.wechatAESKey = WeChatVerifier.decodeAESKey(text)
                    if configuration.wechatAESKey == nil {
                        reader.report("$.wechat.encodingAESKey", "must resolve to 43 base64 characters")
                    }
                }
            }
        }
        if let wechatpay = root["wechatpay"] {
            if let object = reader.object(wechatpay, at: "$.wechatpay") {
                reader.checkFields(object, at: "$.wechatpay", allowed: ["apiV3Key"])
                if let text = secret(object, "apiV3Key", at: "$.wechatpay") {
                    if text.utf8.count != 32 { reader.report("$.wechatpay.apiV3Key", "must resolve to 32 bytes") }
                    configuration.apiV3Key = Array(text.utf8)
                }
            }
        } else if scheme == .wechatPayV3 {
            reader.report("$.wechatpay", "is required for wechatpay-v3 (apiV3Key)")
        }
        configuration.clients = loadClients(root, partnerId: id, reader: reader) { object, field, path in
            secret(object, field, at: path)
        }
        return reader.problems.isEmpty ? .success(configuration) : .failure(ConfigProblems(problems: reader.problems))
    }
}
