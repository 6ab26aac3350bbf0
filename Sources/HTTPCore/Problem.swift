/// An RFC 9457 problem detail: the body of every error CityGate answers.
///
/// `type` is a tag URI (`tag:citygate,2026:problem:<slug>`): stable, absolute and not meant to be
/// dereferenced (RFC 9457 §3.1.1); the slugs are listed in `docs/problems.md`.
public struct Problem: Sendable, Equatable {
    /// The tag URI prefix of every CityGate problem type.
    public static let typePrefix = "tag:citygate,2026:problem:"

    /// The problem type URI.
    public var type: String
    /// A short summary that does not change between occurrences.
    public var title: String
    /// The HTTP status code.
    public var status: Int
    /// This occurrence, explained. Never contains secrets or personal data.
    public var detail: String
    /// The request id, the same as the `X-Request-Id` response field.
    public var requestId: String
    /// Extra string members (e.g. `allow`, `backend`).
    public var extensions: [String: String]
    /// Extra members whose values are already JSON text (e.g. `errors`, a list of violations),
    /// written verbatim. Only the gateway's own encoder fills these.
    public var jsonExtensions: [String: String] = [:]

    /// Creates a problem from a slug; `type` becomes the tag URI for that slug.
    public init(
        slug: String,
        title: String,
        status: Int,
        detail: String,
        requestId: String = "",
        extensions: [String: String] = [:]
    ) {
        self.type = Problem.typePrefix + slug
        self.title = title
        self.status = status
        self.detail = detail
        self.requestId = requestId
        self.extensions = extensions
    }

    /// The slug: `type` without the prefix.
    public var slug: String {
        type.hasPrefix(Problem.typePrefix) ? String(type.dropFirst(Problem.typePrefix.count)) : type
    }

    /// The problem for a request the parser rejected.
    public static func parseError(_ error: HTTPParseError, requestId: String) -> Problem {
        Problem(
            slug: error.kind.rawValue,
            title: error.status.reasonPhrase,
            status: error.status.code,
            detail: error.detail,
            requestId: requestId
        )
    }

    /// The JSON encoding, members in a fixed order.
    public func jsonBytes() -> [UInt8] {
        var out = "{\"type\":" + JSONText.quoted(type)
        out += ",\"title\":" + JSONText.quoted(title)
        out += ",\"status\":\(status)"
        out += ",\"detail\":" + JSONText.quoted(detail)
        out += ",\"requestId\":" + JSONText.quoted(requestId)
        for key in extensions.keys.sorted() {
            out += "," + JSONText.quoted(key) + ":" + JSONText.quoted(extensions[key] ?? "")
        }
        for key in jsonExtensions.keys.sorted() where extensions[key] == nil {
            out += "," + JSONText.quoted(key) + ":" + (jsonExtensions[key] ?? "null")
        }
        out += "}"
        return Array(out.utf8)
    }
}
