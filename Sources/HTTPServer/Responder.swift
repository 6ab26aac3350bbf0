import HTTPCore

/// Turns a request into a response. The server calls it once per request, on the event loop
/// that owns the connection (the loop is the task's executor), and never concurrently for two
/// requests of one connection.
public protocol Responder: Sendable {
    /// Answers one request. Errors are the responder's to turn into problems; it cannot throw.
    func respond(to request: Request, context: RequestContext) async -> Response
}

/// An error that knows the problem it should be answered with.
public protocol ProblemConvertible: Error {
    /// The problem for this error, for the given request id.
    func problem(requestId: String) -> Problem

    /// The whole answer (the problem and any fields it needs). Default: the problem alone.
    func response(requestId: String) -> Response
}

extension ProblemConvertible {
    /// The problem alone.
    public func response(requestId: String) -> Response { .problem(problem(requestId: requestId)) }
}
