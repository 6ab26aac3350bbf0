import Cryptography
import Foundation

/// A credential a city presents to its backends (`credentials` in the city file), used by name in
/// a service's request templates as `{secret.<name>}` — in a header or query value, never in a
/// path or body. What the placeholder becomes:
///
/// | `type` | fields | `{secret.name}` is |
/// |---|---|---|
/// | `value` | `value` (reference) | the value (an API key for `X-API-Key`) |
/// | `basic` | `username`, `password` (reference) | `Basic base64(username:password)` (RFC 7617) |
/// | `oauth2-client-credentials` | `tokenURL`, `clientId`, `clientSecret` (reference), `scope`? | `Bearer <token>`, fetched with the client-credentials grant (RFC 6749 §4.4), cached until shortly before it expires, fetched anew once when the backend answers 401 |
public enum BackendCredential: Sendable, Equatable {
    case value(String)
    case basic(username: String, password: String)
    case oauth2(tokenURL: String, clientId: String, clientSecret: String, scope: String?)

    /// The credential types, for messages.
    static let types = ["value", "basic", "oauth2-client-credentials"]

    /// Whether the value comes from a token endpoint (and a 401 may mean it expired early).
    var isToken: Bool {
        if case .oauth2 = self { return true }
        return false
    }

    /// Reads a city's `credentials` object; every problem to `reader`.
    static func load(_ root: [String: Any], directory: String, reader: ConfigReader) -> [String: BackendCredential] {
        guard let raw = root["credentials"], let map = reader.object(raw, at: "$.credentials") else { return [:] }
        var credentials: [String: BackendCredential] = [:]
        let environment = ProcessInfo.processInfo.environment
        for name in map.keys.sorted() {
            let path = "$.credentials.\(name)"
            if name.isEmpty
                || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            {
                reader.report(path, "a credential name is letters, digits, - and _")
            }
            guard let value = map[name], let object = reader.object(value, at: path) else { continue }
            func secret(_ field: String) -> String? {
                let text = reader.secret(object, field, at: path, directory: directory, environment: environment)
                if text == nil && object[field] == nil { reader.report("\(path).\(field)", "is required") }
                return text
            }
            switch reader.string(object, "type", at: path) ?? "" {
            case "value":
                reader.checkFields(object, at: path, allowed: ["type", "value"])
                if let value = secret("value") { credentials[name] = .value(value) }
            case "basic":
                reader.checkFields(object, at: path, allowed: ["type", "username", "password"])
                let username = reader.string(object, "username", at: path) ?? ""
                if username.contains(":") { reader.report("\(path).username", "cannot contain ':' (RFC 7617)") }
                if let password = secret("password") {
                    credentials[name] = .basic(username: username, password: password)
                }
            case "oauth2-client-credentials":
                reader.checkFields(
                    object, at: path, allowed: ["type", "tokenURL", "clientId", "clientSecret", "scope"])
                let tokenURL = reader.string(object, "tokenURL", at: path) ?? ""
                if let url = URL(string: tokenURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
                } else if !tokenURL.isEmpty {
                    reader.report("\(path).tokenURL", "must be an http:// or https:// URL with a host")
                }
                let clientId = reader.string(object, "clientId", at: path) ?? ""
                let scope = reader.string(object, "scope", at: path, required: false)
                if let clientSecret = secret("clientSecret") {
                    credentials[name] = .oauth2(
                        tokenURL: tokenURL, clientId: clientId, clientSecret: clientSecret, scope: scope)
                }
            case "":
                continue
            case let other:
                reader.report("\(path).type", "'\(other)' is not one of \(types.joined(separator: ", "))")
            }
        }
        return credentials
    }

    /// Header names whose literal values are credentials: a template there must be `{secret.…}`.
    static func looksLikeCredentialHeader(_ name: String) -> Bool {
        let lower = name.lowercased()
        return lower == "authorization" || lower == "proxy-authorization" || lower == "cookie"
            || ["api-key", "apikey", "api_key", "token", "secret", "password", "passwd", "appkey", "app-key"].contains {
                lower.contains($0)
            }
    }
}
