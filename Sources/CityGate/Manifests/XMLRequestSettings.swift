import Cryptography
import Foundation

/// How an `xml` backend request is written (`request.soap`, `request.namespaces`):
///
/// ```json
/// "format": "xml", "xmlRoot": "gjj:QueryAccount",
/// "namespaces": {"gjj": "http://gjj.example.gov.cn/ws"},
/// "soap": {"version": "1.1", "action": "http://gjj.example.gov.cn/ws/QueryAccount",
///          "security": {"username": "{secret.gjj-user}", "password": "{secret.gjj-password}",
///                       "passwordType": "digest"}},
/// "body": [{"element": "gjj:AccountNo", "value": "{input.accountNo}"}, …]
/// ```
///
/// SOAP 1.1 (the default: `text/xml`, a quoted `SOAPAction` header), SOAP 1.2
/// (`application/soap+xml` with `action=` in it) or no envelope (`"version": "none"`); namespace
/// prefixes declared on the envelope (or on the root without one); a WS-Security 1.0
/// UsernameToken header whose username and password come from the city's credentials.
public struct XMLRequestSettings: Sendable {
    /// The envelope.
    public enum Version: String, Sendable, CaseIterable {
        case soap11 = "1.1"
        case soap12 = "1.2"
        case none
    }

    /// A WS-Security UsernameToken (OASIS Username Token Profile 1.0).
    public struct UsernameToken: Sendable {
        let username: CompiledTemplate
        let password: CompiledTemplate
        /// PasswordDigest (Base64(SHA-1(nonce ‖ created ‖ password))) instead of PasswordText.
        let digest: Bool
    }

    public var version: Version = .soap11
    /// The SOAP action (1.1: the `SOAPAction` header, quoted; 1.2: `action=` in the content type).
    public var action: String?
    /// Prefix → namespace URI ("" for the default namespace), in declaration order.
    public var namespaces: [(prefix: String, uri: String)] = []
    var security: UsernameToken?

    /// Prefixes the envelope itself uses; a manifest may not redefine them.
    static let reservedPrefixes: Set<String> = ["soapenv", "wsse", "wsu", "xml", "xmlns"]

    static let wsseNamespace = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    static let wsuNamespace = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    static let tokenProfile = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"

    /// The city credentials the security header names.
    var secretNames: Set<String> {
        var names: Set<String> = []
        for template in [security?.username, security?.password].compactMap({ $0 }) {
            for case .placeholder(let reference) in template.pieces where reference.source == "secret" {
                if let name = reference.names.first { names.insert(name) }
            }
        }
        return names
    }

    /// The whole document: declaration, envelope (unless none), header, and the root element
    /// holding `elements` (`a/b` names nest), in `charset`'s declaration.
    func document(
        root: String, elements: [(name: String, text: String)], charset: String, context: TemplateContext
    ) throws(TemplateRenderer.MissingValue) -> String {
        var declarations = ""
        for (prefix, uri) in namespaces {
            declarations +=
                prefix.isEmpty ? " xmlns=\"\(Self.escape(uri))\"" : " xmlns:\(prefix)=\"\(Self.escape(uri))\""
        }
        var body = "<\(root)\(version == .none ? declarations : "")>"
        body += Self.nested(elements)
        body += "</\(root)>"
        let head = "<?xml version=\"1.0\" encoding=\"\(charset)\"?>"
        guard version != .none else { return head + body }
        let envelopeNamespace =
            version == .soap11
            ? "http://schemas.xmlsoap.org/soap/envelope/" : "http://www.w3.org/2003/05/soap-envelope"
        var header = ""
        if let security {
            header = "<soapenv:Header>" + (try securityHeader(security, context: context)) + "</soapenv:Header>"
        }
        return head + "<soapenv:Envelope xmlns:soapenv=\"\(envelopeNamespace)\"\(declarations)>" + header
            + "<soapenv:Body>" + body + "</soapenv:Body></soapenv:Envelope>"
    }

    /// Elements in order; a name `a/b` opens `a` (or stays in it when the previous one did).
    static func nested(_ elements: [(name: String, text: String)]) -> String {
        var out = ""
        var open: [String] = []
        for (name, text) in elements {
            let path = name.split(separator: "/").map(String.init)
            let parents = Array(path.dropLast())
            var shared = 0
            while shared < open.count, shared < parents.count, open[shared] == parents[shared] { shared += 1 }
            while open.count > shared { out += "</\(open.removeLast())>" }
            for parent in parents.dropFirst(shared) {
                out += "<\(parent)>"
                open.append(parent)
            }
            let leaf = path.last ?? name
            out += "<\(leaf)>\(escape(text))</\(leaf)>"
        }
        while let last = open.popLast() { out += "</\(last)>" }
        return out
    }

    private func securityHeader(_ token: UsernameToken, context: TemplateContext) throws(TemplateRenderer.MissingValue)
        -> String
    {
        let username = try token.username.renderText(context)
        let password = try token.password.renderText(context)
        var passwordElement: String
        var extra = ""
        if token.digest {
            let nonce = (try? SecureBytes.random(count: 16)) ?? []
            let created = Self.timestamp(Date())
            let digest = (try? Digest.sha1.hash(nonce + Array(created.utf8) + Array(password.utf8))) ?? []
            passwordElement =
                "<wsse:Password Type=\"\(Self.tokenProfile)#PasswordDigest\">\(Encoding.base64(digest))</wsse:Password>"
            extra =
                "<wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">\(Encoding.base64(nonce))</wsse:Nonce>"
                + "<wsu:Created>\(created)</wsu:Created>"
        } else {
            passwordElement =
                "<wsse:Password Type=\"\(Self.tokenProfile)#PasswordText\">\(Self.escape(password))</wsse:Password>"
        }
        return "<wsse:Security xmlns:wsse=\"\(Self.wsseNamespace)\" xmlns:wsu=\"\(Self.wsuNamespace)\""
            + " soapenv:mustUnderstand=\"1\"><wsse:UsernameToken>"
            + "<wsse:Username>\(Self.escape(username))</wsse:Username>" + passwordElement + extra
            + "</wsse:UsernameToken></wsse:Security>"
    }

    /// `2026-12-02T08:45:33Z` (WS-Security wants UTC).
    static func timestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970)
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let rest = Int(seconds - Int64(days) * 86_400)
        return "\(CivilDate(daysSinceEpoch: days))T"
            + String(format: "%02d:%02d:%02dZ", rest / 3600, rest / 60 % 60, rest % 60)
    }

    /// Text and attribute values escaped for XML.
    static func escape(_ text: String) -> String { BackendRequestBuilder.xmlEscape(text) }

    /// Whether `name` is an element name a manifest may write: a QName (`gjj:AccountNo`,
    /// `Account`, `姓名`) whose prefix, if any, is declared (`declared`).
    static func problem(elementName name: String, declared: Set<String>) -> String? {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy(isNCName) else {
            return "'\(name.prefix(40))' is not an XML element name (letters, digits, . - _, one optional prefix:)"
        }
        if parts.count == 2 {
            let prefix = String(parts[0])
            if reservedPrefixes.contains(prefix) { return "the prefix '\(prefix)' is reserved for the envelope" }
            if !declared.contains(prefix) { return "the prefix '\(prefix)' is not declared in namespaces" }
        } else if name.lowercased().hasPrefix("xml") {
            return "names beginning with xml are reserved (XML 1.0 §2.3)"
        }
        return nil
    }

    /// An XML NCName (no colon): a letter or `_` first, then letters, digits, `.`, `-`, `_`.
    static func isNCName(_ part: Substring) -> Bool {
        guard let first = part.first, first.isLetter || first == "_" else { return false }
        return part.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }
    }
}
