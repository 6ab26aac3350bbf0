/// An HTTP status code with its reason phrase.
public struct Status: Sendable, Hashable, CustomStringConvertible {
    /// The three-digit code.
    public var code: Int
    /// The reason phrase sent on the status line.
    public var reasonPhrase: String

    /// Creates a status; the phrase defaults to the standard one for the code.
    public init(code: Int, reasonPhrase: String? = nil) {
        self.code = code
        self.reasonPhrase = reasonPhrase ?? Status.standardPhrase(for: code)
    }

    /// `code reason`, as on a status line.
    public var description: String { "\(code) \(reasonPhrase)" }

    /// Whether a response with this status may carry content (RFC 9110 §6.4.1).
    public var allowsContent: Bool { !(100..<200).contains(code) && code != 204 && code != 304 }

    public static let `continue` = Status(code: 100)
    public static let ok = Status(code: 200)
    public static let created = Status(code: 201)
    public static let accepted = Status(code: 202)
    public static let noContent = Status(code: 204)
    public static let badRequest = Status(code: 400)
    public static let unauthorized = Status(code: 401)
    public static let forbidden = Status(code: 403)
    public static let notFound = Status(code: 404)
    public static let methodNotAllowed = Status(code: 405)
    public static let requestTimeout = Status(code: 408)
    public static let conflict = Status(code: 409)
    public static let contentTooLarge = Status(code: 413)
    public static let uriTooLong = Status(code: 414)
    public static let unsupportedMediaType = Status(code: 415)
    public static let expectationFailed = Status(code: 417)
    public static let unprocessableContent = Status(code: 422)
    public static let tooManyRequests = Status(code: 429)
    public static let requestHeaderFieldsTooLarge = Status(code: 431)
    public static let internalServerError = Status(code: 500)
    public static let notImplemented = Status(code: 501)
    public static let badGateway = Status(code: 502)
    public static let serviceUnavailable = Status(code: 503)
    public static let gatewayTimeout = Status(code: 504)
    public static let httpVersionNotSupported = Status(code: 505)

    /// The RFC 9110 reason phrase for a code, or a generic one.
    public static func standardPhrase(for code: Int) -> String {
        switch code {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(code)"
        }
    }
}
