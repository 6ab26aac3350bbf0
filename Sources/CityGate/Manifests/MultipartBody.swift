import Cryptography

/// A `multipart/form-data` body (RFC 7578) for a backend that takes uploads: text fields, then
/// file parts whose content arrived base64 in the call's JSON input and leaves as bytes.
enum MultipartBody {
    static func encode(
        boundary: String, fields: [(String, String)],
        files: [(name: String, filename: String, contentType: String, content: String)], limits: [String: Int]
    ) throws(BackendRequestBuilder.Failure) -> [UInt8] {
        var body: [UInt8] = []
        func line(_ text: String) { body += Array((text + "\r\n").utf8) }
        for (name, value) in fields {
            line("--\(boundary)")
            line("Content-Disposition: form-data; name=\"\(quoted(name))\"")
            line("")
            line(value)
        }
        for file in files {
            guard let bytes = Encoding.base64Decode(file.content.filter { !$0.isWhitespace }), !bytes.isEmpty else {
                throw .invalidDocument(part: file.name, reason: "is not base64")
            }
            if let limit = limits[file.name], bytes.count > limit {
                throw .invalidDocument(part: file.name, reason: "is larger than \(limit) bytes")
            }
            if DocumentAnswer.signatures[file.contentType] != nil, !DocumentAnswer.looksLike(file.contentType, bytes) {
                throw .invalidDocument(part: file.name, reason: "is not a \(file.contentType) document")
            }
            line("--\(boundary)")
            line("Content-Disposition: form-data; name=\"\(quoted(file.name))\"; filename=\"\(quoted(file.filename))\"")
            line("Content-Type: \(file.contentType)")
            line("")
            body += bytes
            line("")
        }
        line("--\(boundary)--")
        return body
    }

    /// A name or file name inside a quoted header parameter: quotes and backslashes escaped
    /// (RFC 7578 §4.2), control characters dropped so nothing can end the header line.
    static func quoted(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7F {
            if scalar == "\"" || scalar == "\\" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out
    }
}
