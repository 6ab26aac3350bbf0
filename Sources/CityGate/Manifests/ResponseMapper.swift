import Foundation
import HTTPClient
import HTTPCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Maps a backend's answer into the partner's JSON, or into a problem.
///
/// ```
///   backend status in `errors`  → that problem slug (4xx keep their status; 5xx become 502)
///   other 4xx                   → 502 backend-rejected-request (our request was wrong)
///   5xx                         → 502 backend-error
///   2xx JSON or XML             → { field: value at its path, …, constants… }
/// ```
public enum ResponseMapper {
    /// The mapped answer.
    public enum Outcome: Equatable {
        /// The partner's JSON body.
        case body(String)
        /// A problem: its kind (the gateway's, or one the manifest maps a status to) and a detail
        /// that names no backend internals.
        case problem(ProblemType, detail: String)
    }

    public static func map(_ response: ClientResponse, with mapping: ResponseMapping, backend: String) -> Outcome {
        if let slug = mapping.errors[response.status] {
            let status = response.status >= 500 ? 502 : response.status
            return .problem(
                ProblemType(slug, status),
                detail: "The service answered: \(slug.replacingOccurrences(of: "-", with: " ")).")
        }
        if response.status >= 500 {
            return .problem(
                .backendError, detail: "Backend '\(backend)' failed (status \(response.status)).")
        }
        if response.status >= 400 {
            return .problem(
                .backendRejectedRequest,
                detail: "Backend '\(backend)' refused the request the gateway built (status \(response.status)).")
        }
        guard let document = decode(response) else {
            return .problem(
                .backendBadResponse,
                detail: "Backend '\(backend)' answered with a body the gateway cannot read.")
        }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(256)
        for (position, member) in mapping.plan.members.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: member.prefix)
            switch member.source {
            case .constant(let text):
                JSONText.appendQuoted(text, to: &out)
            case .path(let steps):
                JSONWriter.append(ResponsePlan.value(at: steps, in: document) ?? .null, to: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        return .body(String(decoding: out, as: UTF8.self))
    }

    /// JSON, or XML turned into nested objects (the element inside a SOAP Body, or the root).
    /// A backend naming a member twice is read as JSONSerialization reads it (the last wins):
    /// the partner only ever sees the mapped answer, so no two readers can disagree about it.
    static func decode(_ response: ClientResponse) -> JSONValue? {
        let first = response.body.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 })
        if first == UInt8(ascii: "<") || Self.namesXML(response.headers["content-type"] ?? "") {
            return XMLDocumentReader.read(Data(response.body)).flatMap { JSONValue(foundation: $0) }
        }
        if response.body.isEmpty { return .object([:]) }
        return try? JSONReader.parse(response.body, rejectDuplicateNames: false)
    }

    /// Whether a content type mentions xml (`text/xml`, `application/soap+xml`), in any case.
    /// Bytes, not `String.contains`, which goes through NSString on every call.
    public static func namesXML(_ contentType: String) -> Bool {
        let bytes = Array(contentType.utf8)
        guard bytes.count >= 3 else { return false }
        for start in 0...(bytes.count - 3) {
            if bytes[start] | 0x20 == UInt8(ascii: "x"), bytes[start + 1] | 0x20 == UInt8(ascii: "m"),
                bytes[start + 2] | 0x20 == UInt8(ascii: "l")
            {
                return true
            }
        }
        return false
    }

    /// Evaluates `$.a.b[0]` (validated at load time) over decoded JSON.
    static func value(at path: String, in document: JSONValue) -> JSONValue? {
        ResponsePlan.value(at: ResponsePlan.steps(of: path), in: document)
    }
}

/// Reads SOAP-style XML into nested dictionaries: an element with children becomes an object
/// (repeated names become arrays), a leaf its text. Namespace prefixes are dropped, and the
/// SOAP Envelope and Body are unwrapped.
final class XMLDocumentReader: NSObject, XMLParserDelegate {
    private var stack: [(name: String, children: [String: Any], text: String)] = [("#document", [:], "")]
    private var failed = false

    static func read(_ data: Data) -> Any? {
        let parser = XMLParser(data: data)
        let reader = XMLDocumentReader()
        parser.delegate = reader
        parser.shouldProcessNamespaces = false
        // No external entities or DTDs: backend XML must not make the gateway fetch anything.
        parser.shouldResolveExternalEntities = false
        guard parser.parse(), !reader.failed else { return nil }
        var node: Any? = reader.stack.first?.children
        for wrapper in ["Envelope", "Body"] {
            if let object = node as? [String: Any], object.count == 1, let inner = object[wrapper] { node = inner }
        }
        if let object = node as? [String: Any], object.count == 1, let only = object.values.first, only is [String: Any]
        {
            return only
        }
        return node
    }

    private static func localName(_ name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        stack.append((Self.localName(elementName), [:], ""))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if !stack.isEmpty { stack[stack.count - 1].text += string }
    }

    func parser(_ parser: XMLParser, foundCDATA block: Data) {
        if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: block, as: UTF8.self) }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard stack.count >= 2, let element = stack.popLast() else {
            failed = true
            return
        }
        let value: Any =
            element.children.isEmpty ? element.text.trimmingCharacters(in: .whitespacesAndNewlines) : element.children
        var parent = stack[stack.count - 1]
        if let existing = parent.children[element.name] {
            if var list = existing as? [Any], !(existing is [String: Any]) {
                list.append(value)
                parent.children[element.name] = list
            } else {
                parent.children[element.name] = [existing, value]
            }
        } else {
            parent.children[element.name] = value
        }
        stack[stack.count - 1] = parent
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        failed = true
    }
}
