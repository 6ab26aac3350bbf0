import HTTPCore

/// The server's own problem kinds (the parser's are ``ProblemType/parser``).
extension ProblemType {
    /// No route for the path.
    public static let notFound = ProblemType("not-found", 404)
    /// The path exists; `Allow` lists the methods.
    public static let methodNotAllowed = ProblemType("method-not-allowed", 405)
    /// A path parameter with a malformed percent-encoding.
    public static let invalidPath = ProblemType("invalid-path", 400)
    /// A handler failed; the detail reveals nothing.
    public static let internalError = ProblemType("internal-error", 500)
    /// The header section did not arrive in time.
    public static let headerTimeout = ProblemType("header-timeout", 408)
    /// The body did not arrive in time.
    public static let bodyTimeout = ProblemType("body-timeout", 408)
    /// Shed at the connection cap while unfinished.
    public static let connectionShed = ProblemType("connection-shed", 408)
    /// The client address holds its most connections.
    public static let tooManyConnections = ProblemType("too-many-connections", 503)
    /// At the cap with nothing to shed.
    public static let serverBusy = ProblemType("server-busy", 503)

    /// Every kind the server itself answers with, besides the parser's.
    public static let server: [ProblemType] = [
        .notFound, .methodNotAllowed, .invalidPath, .internalError, .headerTimeout, .bodyTimeout, .connectionShed,
        .tooManyConnections, .serverBusy,
    ]
}

/// The one error a handler throws to refuse a request: a catalogued kind, a safe detail, and the
/// response fields the refusal needs (`Retry-After`, `WWW-Authenticate`). The router answers it;
/// the call pipeline and the event endpoint, which shape their own refusals, render it the same
/// way (``response(requestId:)``).
public struct ProblemError: ProblemConvertible, Sendable {
    /// The kind.
    public var type: ProblemType
    /// This occurrence, explained (never secrets, personal data or echoed bytes).
    public var detail: String
    /// Extra string members.
    public var extensions: [String: String]
    /// Extra members already encoded as JSON (`errors`).
    public var jsonExtensions: [String: String] = [:]
    /// Response fields to add.
    public var headers: [(String, String)] = []

    /// Creates a refusal.
    public init(
        _ type: ProblemType, _ detail: String, extensions: [String: String] = [:], headers: [(String, String)] = []
    ) {
        self.type = type
        self.detail = detail
        self.extensions = extensions
        self.headers = headers
    }

    /// Wraps a problem built elsewhere (the verifiers', the input validator's).
    public init(_ problem: Problem, headers: [(String, String)] = []) {
        self.type = ProblemType(problem.slug, problem.status)
        self.detail = problem.detail
        self.extensions = problem.extensions
        self.jsonExtensions = problem.jsonExtensions
        self.headers = headers
    }

    /// The RFC 9457 body for `requestId`.
    public func problem(requestId: String) -> Problem {
        var problem = Problem(type, detail: detail, requestId: requestId, extensions: extensions)
        problem.jsonExtensions = jsonExtensions
        return problem
    }

    /// The whole answer: the problem and the fields.
    public func response(requestId: String) -> Response {
        var response = Response.problem(problem(requestId: requestId))
        for (name, value) in headers { response.headers.add(name: name, value: value) }
        return response
    }
}
