import HTTPCore
import HTTPServer

extension CallPipeline {
    /// 401 `invalid-token` with its RFC 6750 challenge.
    static func invalidToken(_ detail: String) -> ProblemError {
        // RFC 6750 §3: error_description is printable ASCII without quote or backslash.
        let escaped = EchoableText.challengeDescription(detail)
        return bearerProblem(
            .invalidToken, detail,
            challenge: "Bearer realm=\"citygate\", error=\"invalid_token\", error_description=\"\(escaped)\"")
    }

    /// A bearer-token refusal: the problem with its `WWW-Authenticate` challenge.
    static func bearerProblem(_ type: ProblemType, _ detail: String, challenge: String) -> ProblemError {
        ProblemError(type, detail, headers: [("WWW-Authenticate", challenge)])
    }
}
