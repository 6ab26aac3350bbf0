import Foundation
import HTTPClient
import HTTPCore

/// Builds the backend request of an operation from its template: path and query with
/// percent-encoding, headers, and a JSON, form-urlencoded or SOAP-style XML body.
public enum BackendRequestBuilder {
    /// Why a request could not be built (a template names a value the call did not supply).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// The placeholder without a value.
        public var placeholder: String
        /// `missing value for {placeholder}`.
        public var description: String { "missing value for {\(placeholder)}" }
    }

    /// The request, with a path relative to the backend's base URL.
    public static func build(_ template: BackendRequestTemplate, context: TemplateContext) throws(Failure)
        -> ClientRequest
    {
        do {
            // Path placeholders are percent-encoded as whole segments: a value cannot add segments.
            var path = try TemplateRenderer.renderText(template.path, context) {
                percentEncode($0, allowed: unreservedSet)
            }
            var query: [(String, String)] = []
            for (name, value) in template.query {
                if let rendered = try TemplateRenderer.render(value, context, required: false) {
                    query.append((name, rendered.text))
                }
            }
            if !query.isEmpty {
                path +=
                    "?"
                    + query.map {
                        percentEncode($0.0, allowed: unreservedSet) + "=" + percentEncode($0.1, allowed: unreservedSet)
                    }
                    .joined(separator: "&")
            }
            var headers = Headers()
            for (name, value) in template.headers {
                headers.add(name: name, value: try TemplateRenderer.renderText(value, context))
            }
            var body: [UInt8] = []
            switch template.bodyFormat {
            case .json?:
                var object: [String: JSONValue] = [:]
                for (name, value) in template.body {
                    object[name] = try TemplateRenderer.render(value, context, required: false)
                }
                body = JSONWriter.encode(.object(object))
                headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            case .form?:
                var pairs: [(String, String)] = []
                for (name, value) in template.body {
                    if let rendered = try TemplateRenderer.render(value, context, required: false) {
                        pairs.append((name, rendered.text))
                    }
                }
                body = Array(FormEncoding.encode(pairs).utf8)
                headers.replaceOrAdd(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
            case .xml?:
                var elements = ""
                for (name, value) in template.body {
                    elements += "<\(name)>\(xmlEscape(try TemplateRenderer.renderText(value, context)))</\(name)>"
                }
                let root = template.xmlRoot ?? "Request"
                let envelope =
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                    + "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>"
                    + "<\(root)>\(elements)</\(root)></soap:Body></soap:Envelope>"
                body = Array(envelope.utf8)
                headers.replaceOrAdd(name: "Content-Type", value: "text/xml; charset=utf-8")
            case nil:
                break
            }
            return ClientRequest(method: template.method, url: path, headers: headers, body: body)
        } catch {
            throw Failure(placeholder: error.placeholder)
        }
    }

    static let unreservedSet: Set<UInt8> = Set(
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))

    static func percentEncode(_ text: String, allowed: Set<UInt8>) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if allowed.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
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
