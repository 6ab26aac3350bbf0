import HTTPClient
import HTTPCore

/// How a failed backend call is answered to a partner: a problem that names the backend and the
/// kind of failure, never the URL, the request or libcurl's text (which can carry hosts and paths).
public enum BackendFailure {
    /// The problem for `error` from the backend named `backend`.
    public static func problem(for error: CurlError, backend: String, requestId: String) -> Problem {
        let (slug, status, detail): (String, Int, String) =
            switch error.kind {
            case .circuitOpen:
                (
                    "backend-circuit-open", 503,
                    "Backend '\(backend)' is failing and calls to it are paused; retry later."
                )
            case .bulkheadFull:
                ("backend-busy", 503, "Backend '\(backend)' has too many calls in flight; retry later.")
            case .timeout:
                ("backend-timeout", 504, "Backend '\(backend)' did not answer in time.")
            case .connectRefused, .dns, .reset:
                ("backend-unavailable", 502, "Backend '\(backend)' could not be reached (\(error.kind.rawValue)).")
            case .tls:
                ("backend-tls-failure", 502, "The secure connection to backend '\(backend)' failed.")
            case .tooLarge:
                ("backend-response-too-large", 502, "Backend '\(backend)' answered with more data than allowed.")
            case .cancelled:
                ("request-cancelled", 503, "The call to backend '\(backend)' was cancelled.")
            case .other:
                ("backend-error", 502, "The call to backend '\(backend)' failed.")
            }
        return Problem(
            slug: slug, title: Status.standardPhrase(for: status), status: status, detail: detail,
            requestId: requestId, extensions: ["backend": backend])
    }

    /// The response for `error`, with `Retry-After` where waiting helps.
    public static func response(for error: CurlError, backend: String, requestId: String) -> Response {
        var response = Response.problem(problem(for: error, backend: backend, requestId: requestId))
        if error.kind == .circuitOpen || error.kind == .bulkheadFull {
            response.headers.add(name: "Retry-After", value: "1")
        }
        return response
    }
}
