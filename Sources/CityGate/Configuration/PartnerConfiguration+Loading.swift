import Cryptography
import Foundation

extension PartnerConfiguration {
    /// The fields every partner file may have; a scheme adds its own sections
    /// (``PartnerScheme/sections``).
    public static let commonFields: Set<String> = [
        "id", "name", "scheme", "keys", "clockSkewSeconds", "cities", "clients", "debugSignatures",
        "push", "clientCertificates",
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
        let schemeText = reader.string(root, "scheme", at: "$") ?? ""
        let schemeType = PartnerSchemes.named(schemeText)
        if schemeType == nil && !schemeText.isEmpty {
            reader.report("$.scheme", "unknown scheme '\(schemeText)' (known: \(PartnerSchemes.names))")
        }
        reader.checkFields(root, at: "$", allowed: commonFields.union(schemeType?.sections ?? []))
        let expectedId = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        let id = reader.string(root, "id", at: "$") ?? expectedId
        if id != expectedId { reader.report("$.id", "must match the file name ('\(expectedId)')") }
        let name = reader.string(root, "name", at: "$") ?? id
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

        let scheme = schemeType.flatMap { type in
            type.load(
                SchemeLoader(reader: reader, root: root, directory: directory, environment: environment, scheme: type))
        }
        let clients = loadClients(root, partnerId: id, reader: reader) { object, field, path in
            reader.secret(object, field, at: path, directory: directory, environment: environment)
        }
        var push: PushEndpoint?
        if let raw = root["push"], let object = reader.object(raw, at: "$.push") {
            reader.checkFields(object, at: "$.push", allowed: PushEndpoint.fields)
            let url = reader.string(object, "url", at: "$.push") ?? ""
            var endpoint = PushEndpoint(url: url)
            if let text = reader.secret(
                object, "privateKey", at: "$.push", directory: directory, environment: environment)
            {
                do { endpoint.privateKey = try AsymmetricKey(pem: text) } catch {
                    reader.report("$.push.privateKey", "must resolve to a PEM private key")
                }
            }
            if let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil {
                push = endpoint
            } else if !url.isEmpty {
                reader.report("$.push.url", "must be an http:// or https:// URL with a host")
            }
            if let scheme, object["privateKey"] == nil || endpoint.privateKey != nil,
                let problem = scheme.pushProblem(endpoint)
            {
                reader.report("$.push", problem)
            }
        }
        let pins = ClientCertificatePin.load(root, at: "$", reader: reader) ?? []
        guard reader.problems.isEmpty, let scheme else { return .failure(ConfigProblems(problems: reader.problems)) }
        var partner = PartnerConfiguration(
            id: id, name: name, scheme: scheme, clockSkewSeconds: clockSkew, cities: cities, debugSignatures: debug,
            clients: clients)
        partner.push = push
        partner.clientCertificates = pins
        return .success(partner)
    }
}
