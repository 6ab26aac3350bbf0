import Cryptography
import Foundation
import HTTPClient
import HTTPCore

/// Builds the backend request of an operation from its template: path and query with
/// percent-encoding, headers, and a JSON, form-urlencoded or SOAP-style XML body.
public enum BackendRequestBuilder {
    /// Why a request could not be built from this call's values.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A template names a value the call did not supply.
        case missingValue(placeholder: String)
        /// A header's value would contain a line break or another control character: written
        /// as it is, it would add header fields (or a whole request) of the caller's choosing.
        case unsafeHeaderValue(header: String)
        /// A value has a character the backend's charset cannot write (never replaced by `?`).
        case unencodable(charset: String)
        /// A document part is not base64, too large, or not of its declared type.
        case invalidDocument(part: String, reason: String)

        /// `missing value for {placeholder}` / `unsafe value for header Name`.
        public var description: String {
            switch self {
            case .missingValue(let placeholder): "missing value for {\(placeholder)}"
            case .unsafeHeaderValue(let header): "unsafe value for header \(header)"
            case .unencodable(let charset): "a value cannot be written in \(charset)"
            case .invalidDocument(let part, let reason): "document \(part): \(reason)"
            }
        }

        /// The sentence for the caller's problem: names the placeholder or header, never a value.
        public var detail: String {
            switch self {
            case .missingValue(let placeholder): "The input lacks a value the service needs (\(placeholder))."
            case .unsafeHeaderValue(let header):
                "A value for the backend's \(header) header contains a line break or control character."
            case .unencodable(let charset):
                "The input has a character the service's backend cannot receive (it speaks \(charset))."
            case .invalidDocument(let part, let reason): "The document for \(part) \(reason)."
            }
        }
    }

    /// The request, with a path relative to the backend's base URL.
    public static func build(_ template: BackendRequestTemplate, context: TemplateContext) throws(Failure)
        -> ClientRequest
    {
        let plan = template.plan
        var headers = Headers()
        // The call path adds request id, trace and identity fields to these.
        headers.reserveCapacity(plan.headers.count + 8)
        for (name, value) in plan.headers {
            let text: String
            do { text = try value.renderText(context) } catch { throw .missingValue(placeholder: error.placeholder) }
            // Tab is allowed in a field value (RFC 9110 §5.5); no other control byte is.
            if text.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
                throw .unsafeHeaderValue(header: name)
            }
            headers.add(name: name, value: text)
        }
        var request: ClientRequest
        var multipart:
            (
                boundary: String, fields: [(String, String)],
                files: [(name: String, filename: String, contentType: String, content: String)]
            )?
        do {
            // Path placeholders are percent-encoded as whole segments: a value cannot add segments.
            var path = try plan.path.renderText(context) {
                percentEncode($0)
            }
            var query: [(String, String)] = []
            for (name, value) in plan.query {
                if let rendered = try value.render(context, required: false) {
                    query.append((name, rendered.text))
                }
            }
            if !query.isEmpty {
                path +=
                    "?"
                    + query.map {
                        percentEncode($0.0) + "=" + percentEncode($0.1)
                    }
                    .joined(separator: "&")
            }
            var body: [UInt8] = []
            let charset = template.charset.lowercased()
            switch template.bodyFormat {
            case .json?:
                var object: [String: JSONValue] = [:]
                for (name, value) in plan.body {
                    object[name] = try value.render(context, required: false)
                }
                body = JSONWriter.encode(.object(object))
                headers.replaceOrAdd(
                    name: "Content-Type",
                    value: charset == "utf-8" ? "application/json" : "application/json; charset=\(charset)")
            case .form?:
                var pairs: [(String, String)] = []
                for (name, value) in plan.body {
                    if let rendered = try value.render(context, required: false) {
                        pairs.append((name, rendered.text))
                    }
                }
                body = Array(FormEncoding.encode(pairs).utf8)
                headers.replaceOrAdd(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
            case .xml?:
                var elements: [(name: String, text: String)] = []
                for (name, value) in plan.body { elements.append((name, try value.renderText(context))) }
                let settings = template.xml
                let document = try settings.document(
                    root: template.xmlRoot ?? "Request", elements: elements, charset: template.charset,
                    context: context)
                body = Array(document.utf8)
                switch settings.version {
                case .soap11:
                    headers.replaceOrAdd(name: "Content-Type", value: "text/xml; charset=\(charset)")
                    // SOAP 1.1 §6.1.1: the header's value is a quoted URI ("" when none).
                    headers.replaceOrAdd(name: "SOAPAction", value: "\"\(settings.action ?? "")\"")
                case .soap12:
                    let action = settings.action.map { "; action=\"\($0)\"" } ?? ""
                    headers.replaceOrAdd(
                        name: "Content-Type", value: "application/soap+xml; charset=\(charset)\(action)")
                case .none:
                    headers.replaceOrAdd(name: "Content-Type", value: "application/xml; charset=\(charset)")
                }
            case .multipart?:
                var fields: [(String, String)] = []
                for (name, value) in plan.body {
                    if let rendered = try value.render(context, required: false) {
                        fields.append((name, rendered.text))
                    }
                }
                var files: [(name: String, filename: String, contentType: String, content: String)] = []
                for (name, part) in template.files {
                    files.append(
                        (
                            name, try part.filename.renderText(context), part.contentType,
                            try part.content.renderText(context)
                        )
                    )
                }
                let boundary =
                    "citygate-" + Encoding.hex((try? SecureBytes.random(count: 12)) ?? Array("multipart".utf8))
                multipart = (boundary, fields, files)
                headers.replaceOrAdd(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
            case nil:
                break
            }
            request = ClientRequest(method: template.method, url: path, headers: headers, body: body)
        } catch {
            throw .missingValue(placeholder: error.placeholder)
        }
        if let multipart {
            request.body = try MultipartBody.encode(
                boundary: multipart.boundary, fields: multipart.fields, files: multipart.files,
                limits: Dictionary(uniqueKeysWithValues: template.files.map { ($0.name, $0.part.maxBytes) }))
        }
        // A legacy backend gets the body in its charset; a character it has none for is refused,
        // never sent as `?`.
        if template.charset != "UTF-8", !request.body.isEmpty {
            guard let text = String(validating: request.body, as: UTF8.self),
                let encoded = LegacyCharset.encode(text, to: template.charset)
            else { throw .unencodable(charset: template.charset) }
            request.body = encoded
        }
        return request
    }

    /// RFC 3986 §2.3 unreserved: the bytes a path segment or query value keeps as they are.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// Every byte but the unreserved ones as `%XX`.
    static func percentEncode(_ text: String) -> String {
        // Most values (ids, codes) need no escape: returned as they are, with no copy.
        if text.utf8.allSatisfy(isUnreserved) { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func xmlEscape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
