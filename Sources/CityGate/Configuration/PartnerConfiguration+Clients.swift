import Cryptography
import Foundation

extension PartnerConfiguration {
    static let clientFields: Set<String> = ["id", "secretHash", "scopes", "assertionKeys", "realNameSubject"]
    static let assertionKeyFields: Set<String> = ["id", "alg", "secret", "publicKey", "privateKey"]

    /// Reads `clients[]`: hashed secrets (a hash is not a secret, so it may stand inline),
    /// scopes, and assertion keys resolved through `secret(...)` (env:/file: references).
    static func loadClients(
        _ root: [String: Any], partnerId: String, reader: ConfigReader,
        secret: (_ object: [String: Any], _ field: String, _ path: String) -> String?
    ) -> [OAuthClient] {
        guard root["clients"] != nil else { return [] }
        var clients: [OAuthClient] = []
        var seen: Set<String> = []
        for (index, item) in (reader.array(root, "clients", at: "$") ?? []).enumerated() {
            let path = "$.clients[\(index)]"
            guard let object = reader.object(item, at: path) else { continue }
            reader.checkFields(object, at: path, allowed: clientFields)
            let id = reader.string(object, "id", at: path) ?? ""
            if !id.isEmpty, !isTokenSafe(id) {
                reader.report("\(path).id", "may hold only letters, digits and - _ . (at most 64)")
            }
            if !seen.insert(id).inserted { reader.report("\(path).id", "duplicate client id '\(id)'") }
            var stored: PasswordHash.Stored?
            if let text = reader.string(object, "secretHash", at: path) {
                stored = PasswordHash.Stored(text)
                if stored == nil {
                    reader.report(
                        "\(path).secretHash",
                        "must be pbkdf2-sha256$<iterations>$<salt>$<hash> (make one with citygate hash-secret)")
                }
            }
            var scopes: Set<String> = []
            for (scopeIndex, value) in (reader.array(object, "scopes", at: path) ?? []).enumerated() {
                guard let scope = value as? String, !scope.isEmpty, isTokenSafe(scope) else {
                    reader.report("\(path).scopes[\(scopeIndex)]", "must be a scope name (letters, digits, - _ .)")
                    continue
                }
                scopes.insert(scope)
            }
            var keys: [OAuthClient.AssertionKey] = []
            for (keyIndex, keyItem) in (reader.array(object, "assertionKeys", at: path, required: false) ?? [])
                .enumerated()
            {
                let keyPath = "\(path).assertionKeys[\(keyIndex)]"
                guard let keyObject = reader.object(keyItem, at: keyPath) else { continue }
                if let key = loadAssertionKey(keyObject, at: keyPath, reader: reader, secret: secret) {
                    if keys.contains(where: { $0.id == key.id }) {
                        reader.report("\(keyPath).id", "duplicate assertion key id '\(key.id)'")
                    }
                    keys.append(key)
                }
            }
            var realNameSubject = OAuthClient.RealNameSubject.residentId
            if let text = reader.string(object, "realNameSubject", at: path, required: false) {
                if let parsed = OAuthClient.RealNameSubject(rawValue: text) {
                    realNameSubject = parsed
                } else {
                    reader.report("\(path).realNameSubject", "must be resident-id or opaque")
                }
            }
            if let stored {
                clients.append(
                    OAuthClient(
                        id: id, partnerId: partnerId, secretHash: stored, scopes: scopes, assertionKeys: keys,
                        realNameSubject: realNameSubject))
            }
        }
        return clients
    }

    private static func loadAssertionKey(
        _ object: [String: Any], at path: String, reader: ConfigReader,
        secret: (_ object: [String: Any], _ field: String, _ path: String) -> String?
    ) -> OAuthClient.AssertionKey? {
        reader.checkFields(object, at: path, allowed: assertionKeyFields)
        let id = reader.string(object, "id", at: path) ?? ""
        let algorithmText = reader.string(object, "alg", at: path) ?? ""
        guard let algorithm = JSONWebToken.Algorithm(rawValue: algorithmText) else {
            if !algorithmText.isEmpty {
                reader.report(
                    "\(path).alg",
                    "must be one of \(JSONWebToken.Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return nil
        }
        switch algorithm {
        case .hs256:
            guard let text = secret(object, "secret", path) else {
                if object["secret"] == nil { reader.report("\(path).secret", "is required for HS256") }
                return nil
            }
            guard text.utf8.count >= 32 else {
                reader.report("\(path).secret", "must resolve to at least 32 bytes for HS256")
                return nil
            }
            let key = JSONWebToken.Key.secret(Array(text.utf8))
            return OAuthClient.AssertionKey(id: id, algorithm: algorithm, key: key, signingKey: key)
        case .rs256, .edDSA, .sm2sm3:
            guard let text = secret(object, "publicKey", path) else {
                if object["publicKey"] == nil { reader.report("\(path).publicKey", "is required for \(algorithmText)") }
                return nil
            }
            let wanted: AsymmetricKey.Algorithm =
                switch algorithm {
                case .rs256: .rsa
                case .sm2sm3: .sm2
                default: .ed25519
                }
            guard let publicKey = try? AsymmetricKey(pem: text), publicKey.algorithm == wanted else {
                let name =
                    switch wanted {
                    case .rsa: "RSA"
                    case .sm2: "SM2"
                    case .ed25519: "Ed25519"
                    }
                reader.report("\(path).publicKey", "must resolve to a PEM \(name) public key")
                return nil
            }
            var signing: JSONWebToken.Key?
            if let privateText = secret(object, "privateKey", path) {
                if let privateKey = try? AsymmetricKey(pem: privateText), privateKey.isPrivate,
                    privateKey.algorithm == wanted
                {
                    signing = .asymmetric(privateKey)
                } else {
                    reader.report("\(path).privateKey", "must resolve to the matching PEM private key")
                }
            }
            return OAuthClient.AssertionKey(
                id: id, algorithm: algorithm, key: .asymmetric(publicKey), signingKey: signing)
        }
    }

    /// Client ids and scopes travel in form fields, claims and logs: keep them to a safe alphabet.
    static func isTokenSafe(_ text: String) -> Bool {
        text.utf8.count <= 64
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }
}
