/// Writes responses as HTTP/1.1 bytes: status line, fields, and content framed by
/// Content-Length or the chunked coding.
///
/// Field names that are not tokens are dropped and CR, LF and NUL in values become spaces, so a
/// handler can never split a response (RFC 9110 §5.5).
public enum ResponseSerializer {
    /// How the serialized content is framed.
    public enum Framing: Sendable, Equatable {
        /// `Content-Length: n` followed by exactly n bytes (or none for HEAD).
        case contentLength(Int)
        /// `Transfer-Encoding: chunked`; content follows as ``chunk(_:)`` and ``lastChunk(trailers:)``.
        case chunked
        /// No content and no length field (1xx, 204, 304).
        case none
    }

    /// The fields this serializer owns; handler-set values for these are ignored.
    static let framingFields = ["content-length", "transfer-encoding", "connection"]

    /// Whether `name` is one of `names` (lower-case), comparing lengths before characters: this
    /// runs for every field of every response.
    @inline(__always)
    static func isOneOf(_ name: String, _ names: [String]) -> Bool {
        let length = name.utf8.count
        for candidate in names where candidate.utf8.count == length && Headers.equalNames(name, candidate) {
            return true
        }
        return false
    }

    /// The status line and header section, ending with the empty line.
    /// - Parameters:
    ///   - extraFields: fields the server adds (request id, date); a handler-set field with the
    ///     same name is left out, so the server's value wins without copying the handler's list.
    public static func head(
        status: Status,
        headers: Headers,
        framing: Framing,
        keepAlive: Bool,
        extraFields: [(name: String, value: String)] = [],
        into out: inout [UInt8]
    ) {
        append("HTTP/1.1 \(status.code) ", to: &out)
        appendSanitized(status.reasonPhrase, to: &out)
        out.append(.carriageReturn)
        out.append(.lineFeed)
        for field in headers
        where !isOneOf(field.name, framingFields)
            && !extraFields.contains(where: { extra in
                extra.name.utf8.count == field.name.utf8.count && Headers.equalNames(extra.name, field.name)
            })
        {
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(ByteClass.isToken) else { continue }
            append(field.name, to: &out)
            out.append(.colon)
            out.append(.space)
            appendSanitized(field.value, to: &out)
            out.append(.carriageReturn)
            out.append(.lineFeed)
        }
        for field in extraFields {
            append(field.name, to: &out)
            out.append(.colon)
            out.append(.space)
            appendSanitized(field.value, to: &out)
            out.append(.carriageReturn)
            out.append(.lineFeed)
        }
        switch framing {
        case .contentLength(let length): append("Content-Length: \(length)\r\n", to: &out)
        case .chunked: append("Transfer-Encoding: chunked\r\n", to: &out)
        case .none: break
        }
        if !keepAlive { append("Connection: close\r\n", to: &out) }
        out.append(.carriageReturn)
        out.append(.lineFeed)
    }

    /// A whole response with Content-Length framing, appended to `out`. For HEAD the length is
    /// sent without content.
    public static func serialize(
        _ response: Response,
        keepAlive: Bool,
        isHeadRequest: Bool = false,
        extraFields: [(name: String, value: String)] = [],
        into out: inout [UInt8]
    ) {
        out.reserveCapacity(out.count + 256 + response.body.count)
        let framing: Framing = response.status.allowsContent ? .contentLength(response.body.count) : .none
        head(
            status: response.status, headers: response.headers, framing: framing, keepAlive: keepAlive,
            extraFields: extraFields, into: &out)
        if response.status.allowsContent && !isHeadRequest {
            out.append(contentsOf: response.body)
        }
    }

    /// A whole response with Content-Length framing. For HEAD the length is sent without content.
    public static func serialize(_ response: Response, keepAlive: Bool, isHeadRequest: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        serialize(response, keepAlive: keepAlive, isHeadRequest: isHeadRequest, into: &out)
        return out
    }

    /// One chunk: size in hex, CRLF, data, CRLF. Empty data produces nothing (an empty chunk would
    /// end the body).
    public static func chunk(_ data: [UInt8]) -> [UInt8] {
        guard !data.isEmpty else { return [] }
        var out = Array(String(data.count, radix: 16).utf8)
        out.append(contentsOf: [.carriageReturn, .lineFeed])
        out.append(contentsOf: data)
        out.append(contentsOf: [.carriageReturn, .lineFeed])
        return out
    }

    /// The last chunk, optional trailer fields and the final CRLF.
    public static func lastChunk(trailers: Headers = Headers()) -> [UInt8] {
        var out = Array("0\r\n".utf8)
        for field in trailers where field.name.utf8.allSatisfy(ByteClass.isToken) {
            append(field.name, to: &out)
            append(": ", to: &out)
            appendSanitized(field.value, to: &out)
            append("\r\n", to: &out)
        }
        append("\r\n", to: &out)
        return out
    }

    @inline(__always)
    static func append(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    static func appendSanitized(_ text: String, to out: inout [UInt8]) {
        // Almost every value is clean: check first, then copy in one go.
        if !text.utf8.contains(where: { $0 == .carriageReturn || $0 == .lineFeed || $0 == 0 }) {
            out.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            out.append(byte == .carriageReturn || byte == .lineFeed || byte == 0 ? .space : byte)
        }
    }
}
