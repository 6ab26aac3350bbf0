import HTTPClient
import HTTPCore
import HTTPServer

/// How a failed backend call is answered to a partner: a problem that names the backend and the
/// kind of failure, never the URL, the request or libcurl's text (which can carry hosts and paths).
public enum BackendFailure {
    /// The refusal for `error` from the backend named `backend`, with `Retry-After` where waiting
    /// helps (the gateway's own refusals, which lift by themselves).
    public static func error(for error: BackendCallError, backend: String) -> ProblemError {
        let (type, detail): (ProblemType, String) =
            switch error {
            case .circuitOpen:
                (.backendCircuitOpen, "Backend '\(backend)' is failing and calls to it are paused; retry later.")
            case .bulkheadFull:
                (.backendBusy, "Backend '\(backend)' has too many calls in flight; retry later.")
            case .transport(let transport):
                switch transport.kind {
                case .timeout:
                    (.backendTimeout, "Backend '\(backend)' did not answer in time.")
                case .connectRefused, .dns, .reset:
                    (.backendUnavailable, "Backend '\(backend)' could not be reached (\(transport.kind.rawValue)).")
                case .tls:
                    (.backendTLSFailure, "The secure connection to backend '\(backend)' failed.")
                case .tooLarge:
                    (.backendResponseTooLarge, "Backend '\(backend)' answered with more data than allowed.")
                case .cancelled:
                    (.requestCancelled, "The call to backend '\(backend)' was cancelled.")
                case .other:
                    (.backendError, "The call to backend '\(backend)' failed.")
                }
            }
        return ProblemError(
            type, detail, extensions: ["backend": backend], headers: error.isRefusal ? [("Retry-After", "1")] : [])
    }

    /// The problem for `error` from the backend named `backend`.
    public static func problem(for error: BackendCallError, backend: String, requestId: String) -> Problem {
        self.error(for: error, backend: backend).problem(requestId: requestId)
    }

    /// The response for `error`: the problem and its `Retry-After`.
    public static func response(for error: BackendCallError, backend: String, requestId: String) -> Response {
        self.error(for: error, backend: backend).response(requestId: requestId)
    }
}
