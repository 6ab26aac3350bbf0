/// A response to send: status, header fields and complete content.
public struct Response: Sendable {
    /// The status.
    public var status: Status
    /// Header fields; framing fields (Content-Length, Transfer-Encoding, Connection) are set by
    /// the serializer and any set here are replaced.
    public var headers: Headers
    /// The content.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Status = .ok, headers: Headers = Headers(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with a UTF-8 body and the given content type.
    public static func text(
        _ text: String,
        status: Status = .ok,
        contentType: String = "text/plain; charset=utf-8"
    ) -> Response {
        Response(status: status, headers: ["Content-Type": contentType], body: Array(text.utf8))
    }

    /// A response with a JSON body already encoded as text.
    public static func json(_ json: String, status: Status = .ok) -> Response {
        text(json, status: status, contentType: "application/json")
    }

    /// An RFC 9457 problem response.
    public static func problem(_ problem: Problem) -> Response {
        var response = Response(
            status: Status(code: problem.status),
            headers: ["Content-Type": "application/problem+json"],
            body: problem.jsonBytes()
        )
        if problem.status == 405, let allow = problem.extensions["allow"] {
            response.headers.add(name: "Allow", value: allow)
        }
        return response
    }
}
