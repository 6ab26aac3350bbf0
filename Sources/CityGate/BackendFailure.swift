import HTTPClient
import HTTPCore

/// How a failed backend call is answered to a partner: a problem that names the backend and the
/// kind of failure, never the URL, the request or libcurl's text (which can carry hosts and paths).
public enum BackendFailure {
    /// The problem for `error` from the backend named `backend`.
    public static func problem(for error: BackendCallError, backend: String, requestId: String) -> Problem {
        let transport: CurlError
        switch error {
        case .circuitOpen:
            return problem(
                "backend-circuit-open", 503, "Backend '\(backend)' is failing and calls to it are paused; retry later.",
                backend: backend, requestId: requestId)
        case .bulkheadFull:
            return problem(
                "backend-busy", 503, "Backend '\(backend)' has too many calls in flight; retry later.",
                backend: backend,
                requestId: requestId)
        case .transport(let error):
            transport = error
        }
        let (slug, status, detail): (String, Int, String) =
            switch transport.kind {
            case .timeout:
                ("backend-timeout", 504, "Backend '\(backend)' did not answer in time.")
            case .connectRefused, .dns, .reset:
                ("backend-unavailable", 502, "Backend '\(backend)' could not be reached (\(transport.kind.rawValue)).")
            case .tls:
                ("backend-tls-failure", 502, "The secure connection to backend '\(backend)' failed.")
            case .tooLarge:
                ("backend-response-too-large", 502, "Backend '\(backend)' answered with more data than allowed.")
            case .cancelled:
                ("request-cancelled", 503, "The call to backend '\(backend)' was cancelled.")
            case .other:
                ("backend-error", 502, "The call to backend '\(backend)' failed.")
            }
        return problem(slug, status, detail, backend: backend, requestId: requestId)
    }

    private static func problem(_ slug: String, _ status: Int, _ detail: String, backend: String, requestId: String)
        -> Problem
    {
        Problem(
            slug: slug, title: Status.standardPhrase(for: status), status: status, detail: detail,
            requestId: requestId, extensions: ["backend": backend])
    }

    /// The response for `error`, with `Retry-After` where waiting helps (the gateway's own
    /// refusals, which lift by themselves).
    public static func response(for error: BackendCallError, backend: String, requestId: String) -> Response {
        var response = Response.problem(problem(for: error, backend: backend, requestId: requestId))
        if error.isRefusal { response.headers.add(name: "Retry-After", value: "1") }
        return response
    }
}
