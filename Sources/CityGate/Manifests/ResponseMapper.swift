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
        /// A document passed through: its media type, bytes and a safe file name, if the backend gave one.
        case document(contentType: String, bytes: [UInt8], filename: String?)
        /// A problem: its kind (the gateway's, or one the manifest maps a status to) and a detail
        /// that names no backend internals.
        case problem(ProblemType, detail: String)
    }

    public static func map(_ response: ClientResponse, with mapping: ResponseMapping, backend: String) -> Outcome {
        // The answer in UTF-8 (nil: not valid in the charset it names or the operation's).
        let body = utf8Body(response, fallback: mapping.charset)
        // XML is parsed once: for a SOAP fault (SOAP 1.1 answers it with 500, some systems with
        // 200), mapped by its code, and otherwise as the document the fields are read from.
        var xml: (name: String?, value: Any)?
        var isXML = false
        if let body, body.first(where: { !isSpace($0) }) == UInt8(ascii: "<") {
            isXML = true
            xml = XMLDocumentReader.readUnwrapped(Data(body))
            if let (name, value) = xml, name == "Fault", let fault = value as? [String: Any] {
                return faultOutcome(
                    JSONValue(foundation: fault) ?? .object([:]), mapping: mapping.faults, backend: backend)
            }
        }
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
        if let allowed = mapping.document, let outcome = documentOutcome(response, allowed: allowed, backend: backend) {
            return outcome
        }
        let parsed: JSONValue? =
            if isXML { xml.flatMap { JSONValue(foundation: $0.value) } } else {
                body.flatMap { decode($0, contentType: response.headers["content-type"] ?? "") }
            }
        guard let document = parsed else {
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
            case .recipe(let recipe):
                do throws(FieldRecipe.Failure) {
                    JSONWriter.append(try recipe.value(in: document) ?? .null, to: &out)
                } catch {
                    let field = String(decoding: member.prefix.dropFirst().dropLast(2), as: UTF8.self)
                    return .problem(
                        .backendBadResponse,
                        detail:
                            "Backend '\(backend)' answered a value the manifest cannot map for '\(field)': \(error.reason)."
                    )
                }
            }
        }
        out.append(UInt8(ascii: "}"))
        return .body(String(decoding: out, as: UTF8.self))
    }

    /// A document answer passed through, or refused; nil when the answer is JSON or XML (mapped
    /// as usual: a backend may answer a document or, say, a JSON "not issued yet").
    static func documentOutcome(_ response: ClientResponse, allowed: DocumentAnswer, backend: String) -> Outcome? {
        let contentType = response.headers["content-type"] ?? ""
        let mediaType =
            contentType.split(separator: ";").first.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            } ?? ""
        if mediaType.hasSuffix("json") || namesXML(mediaType) { return nil }
        guard allowed.types.contains(mediaType) else {
            return .problem(
                .backendBadResponse,
                detail:
                    "Backend '\(backend)' answered a document of a type the service does not pass on (\(EchoableText.quoted(String(mediaType.prefix(60)), or: "no type")))."
            )
        }
        guard response.body.count <= allowed.maxBytes else {
            return .problem(
                .backendResponseTooLarge,
                detail:
                    "Backend '\(backend)' answered a document larger than the service allows (\(allowed.maxBytes) bytes)."
            )
        }
        guard DocumentAnswer.looksLike(mediaType, response.body) else {
            return .problem(
                .backendBadResponse, detail: "Backend '\(backend)' answered bytes that are not a \(mediaType) document."
            )
        }
        return .document(
            contentType: mediaType, bytes: response.body,
            filename: dispositionFilename(response.headers["content-disposition"] ?? ""))
    }

    /// `filename="…"` of a Content-Disposition, kept only when it is a plain name (letters,
    /// digits, `.`, `-`, `_`): anything else is dropped rather than passed on to partners.
    static func dispositionFilename(_ disposition: String) -> String? {
        guard let range = disposition.range(of: "filename=") else { return nil }
        let name = disposition[range.upperBound...].split(separator: ";").first.map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        guard let name, !name.isEmpty, name.count <= 100,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_".contains($0)) }), !name.hasPrefix(".")
        else { return nil }
        return name
    }

    /// The problem for a SOAP fault: the manifest's, by the code at `codePath`, the fault code's
    /// local name or the whole fault code; else 502 `backend-fault`. Nothing of the backend's
    /// own text is passed on.
    static func faultOutcome(_ fault: JSONValue, mapping: FaultMapping, backend: String) -> Outcome {
        var candidates: [String] = []
        if let steps = mapping.codePath, let code = ResponsePlan.value(at: steps, in: fault),
            let text = FieldRecipe.text(of: code), !text.isEmpty
        {
            candidates.append(text)
        }
        // SOAP 1.1: faultcode; 1.2: Code/Subcode/Value, then Code/Value.
        let codes = [
            ResponsePlan.value(at: [.member("faultcode")], in: fault),
            ResponsePlan.value(at: [.member("Code"), .member("Subcode"), .member("Value")], in: fault),
            ResponsePlan.value(at: [.member("Code"), .member("Value")], in: fault),
        ]
        for case let code? in codes {
            guard let text = FieldRecipe.text(of: code), !text.isEmpty else { continue }
            candidates.append(text.split(separator: ":").last.map(String.init) ?? text)
            candidates.append(text)
        }
        for candidate in candidates {
            if let entry = mapping.entries[candidate] {
                return .problem(ProblemType(entry.problem, entry.status), detail: entry.message)
            }
        }
        return .problem(
            .backendFault, detail: "Backend '\(backend)' answered with a SOAP fault the service does not map.")
    }

    /// The body as UTF-8: converted from the charset the `Content-Type` names, else the one an
    /// XML declaration names, else `fallback`. An XML declaration is dropped when converted (it
    /// would name the old charset to the parser). Nil when the bytes are not valid there.
    static func utf8Body(_ response: ClientResponse, fallback: String) -> [UInt8]? {
        let body = response.body
        var charset = fallback
        if let named = charsetParameter(response.headers["content-type"] ?? "") {
            charset = named
        } else if let declared = xmlDeclaredEncoding(body) {
            charset = declared
        }
        guard charset != "UTF-8" else { return body }
        guard let text = LegacyCharset.decode(body, from: charset) else { return nil }
        var bytes = Array(text.utf8)
        if bytes.starts(with: Array("<?xml".utf8)), let end = declarationEnd(bytes) { bytes.removeFirst(end) }
        return bytes
    }

    /// Where a leading `<?xml … ?>` ends (just past `?>`).
    private static func declarationEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 0..<(bytes.count - 1)
        where bytes[index] == UInt8(ascii: "?") && bytes[index + 1] == UInt8(ascii: ">") {
            return index + 2
        }
        return nil
    }

    /// `charset=` of a content type, canonical; nil when absent or not one we speak.
    static func charsetParameter(_ contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "charset" {
                return LegacyCharset.canonical(String(pair[1]))
            }
        }
        return nil
    }

    /// `encoding="…"` of a leading XML declaration, canonical.
    static func xmlDeclaredEncoding(_ body: [UInt8]) -> String? {
        guard body.starts(with: Array("<?xml".utf8)), let end = declarationEnd(body) else { return nil }
        let declaration = String(decoding: body[..<end], as: UTF8.self)
        guard let range = declaration.range(of: #"encoding\s*=\s*["'][A-Za-z0-9_-]+["']"#, options: .regularExpression)
        else { return nil }
        let value = declaration[range].split(whereSeparator: { $0 == "\"" || $0 == "'" }).dropFirst().first
        return value.flatMap { LegacyCharset.canonical(String($0)) }
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    /// JSON, or XML turned into nested objects (the element inside a SOAP Body, or the root).
    /// A backend naming a member twice is read as JSONSerialization reads it (the last wins):
    /// the partner only ever sees the mapped answer, so no two readers can disagree about it.
    static func decode(_ body: [UInt8], contentType: String) -> JSONValue? {
        let first = body.first(where: { !isSpace($0) })
        if first == UInt8(ascii: "<") || Self.namesXML(contentType) {
            return XMLDocumentReader.read(Data(body)).flatMap { JSONValue(foundation: $0) }
        }
        if body.isEmpty { return .object([:]) }
        return try? JSONReader.parse(body, rejectDuplicateNames: false)
    }

    /// JSON or XML (as ``decode(_:contentType:)``) of a response already in UTF-8.
    static func decode(_ response: ClientResponse) -> JSONValue? {
        decode(response.body, contentType: response.headers["content-type"] ?? "")
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

    static func read(_ data: Data) -> Any? { readUnwrapped(data)?.value }

    /// The document with Envelope and Body unwrapped, and the name of the one element inside
    /// them whose content is returned (`Fault` for a SOAP fault), when there is one.
    static func readUnwrapped(_ data: Data) -> (name: String?, value: Any)? {
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
        if let object = node as? [String: Any], object.count == 1, let only = object.first, only.value is [String: Any]
        {
            return (only.key, only.value)
        }
        return node.map { (nil, $0) }
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
